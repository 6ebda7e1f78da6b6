// `patchbay hosts [CLOUD]`: every host of the fleet's current records, how it is reached, and for an
// agent host its agent's version and when it was last seen — read from the pollers Temporal saw on
// the host's task queue (not from connection events: an agent that stopped polling is not "up").
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { agentTaskQueue } from '../record/identity';
import type { InventoryHost } from '../store/inventoryStore';

/** An agent whose pollers were seen within this long is online. */
export const ONLINE_WITHIN_MS = 2 * 60_000;

export interface HostRow extends InventoryHost {
  /** Agent hosts: the agent's task queue, the version it reports, when it last polled. */
  agent?: {
    taskQueue: string;
    version: string | null;
    identity: string | null;
    lastSeen: string | null;
    online: boolean;
  };
}

/** "patchbay-agent/0.1.0/p1 east/ctl2 pid 12@h2" -> "0.1.0" */
export function versionOf(identity: string): string | null {
  return /^patchbay-agent\/([^/\s]+)/.exec(identity)?.[1] ?? null;
}

export async function describeHosts(
  client: Client,
  namespace: string,
  hosts: InventoryHost[],
  now = Date.now(),
): Promise<HostRow[]> {
  // Bounded fan-out: one DescribeTaskQueue per agent host, eight at a time.
  const rows: HostRow[] = hosts.map((h) => ({ ...h }));
  const agents = rows.filter((r) => r.reach === 'agent');
  for (let i = 0; i < agents.length; i += 8) {
    await Promise.all(
      agents.slice(i, i + 8).map(async (row) => {
        const taskQueue = agentTaskQueue(row.cloud, row.host);
        const described = await client.workflowService.describeTaskQueue({
          namespace,
          taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
          taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        });
        const latest = (described.pollers ?? [])
          .map((p) => ({
            identity: p.identity ?? '',
            at: p.lastAccessTime?.seconds ? Number(p.lastAccessTime.seconds) * 1000 : 0,
          }))
          .sort((a, b) => b.at - a.at)[0];
        row.agent = {
          taskQueue,
          version: latest ? versionOf(latest.identity) : null,
          identity: latest?.identity || null,
          lastSeen: latest?.at ? new Date(latest.at).toISOString() : null,
          online: latest !== undefined && now - latest.at < ONLINE_WITHIN_MS,
        };
      }),
    );
  }
  return rows;
}

export function renderHosts(rows: HostRow[], now = Date.now()): string {
  if (rows.length === 0) return 'no hosts (no cloud has an applied revision)';
  const ago = (iso: string | null) =>
    iso ? `${Math.max(0, Math.round((now - Date.parse(iso)) / 1000))} s ago` : 'never';
  const lines = [['CLOUD', 'HOST', 'ADDRESS', 'REACH', 'AGENT', 'LAST SEEN']];
  for (const r of rows)
    lines.push([
      r.cloud,
      r.host,
      r.address,
      r.reach === 'agent' ? 'agent' : `direct ${r.endpoint}`,
      r.agent ? (r.agent.online ? `${r.agent.version ?? '?'} online` : 'OFFLINE') : '-',
      r.agent ? ago(r.agent.lastSeen) : '-',
    ]);
  const widths = lines[0]!.map((_, c) => Math.max(...lines.map((l) => l[c]!.length)));
  return lines
    .map((l) =>
      l
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
