// When a long bench stops making progress, say where things stand instead of waiting forever: who
// still polls the task queue and how much waits there, the dev server's goroutines (SIGQUIT makes a
// Go process print them and exit) and this process's threads (what each waits on in the kernel).
import { readdirSync, readFileSync } from 'node:fs';
import type { Client } from '@temporalio/client';

export interface StallContext {
  client: Client;
  namespace: string;
  taskQueue: string;
  server: { pid?: number; logPath?: string };
}

// temporal.api.enums.v1.TaskQueueType: WORKFLOW = 1, ACTIVITY = 2.
const TYPES = [
  ['workflow', 1],
  ['activity', 2],
] as const;

function secondsAgo(ts: { seconds?: unknown } | null | undefined): string {
  const s = Number(ts?.seconds ?? 0);
  return s ? `${Math.round(Date.now() / 1000 - s)} s ago` : 'never';
}

/** Lines describing the stall; never throws (each probe reports its own failure). */
export async function diagnoseStall(ctx: StallContext): Promise<string[]> {
  const lines: string[] = [];
  for (const [name, type] of TYPES) {
    try {
      const r = await ctx.client.workflowService.describeTaskQueue({
        namespace: ctx.namespace,
        taskQueue: { name: ctx.taskQueue },
        taskQueueType: type,
        includeTaskQueueStatus: true,
      });
      const pollers = (r.pollers ?? []).map(
        (p) => `${p.identity ?? '?'} last polled ${secondsAgo(p.lastAccessTime)}`,
      );
      lines.push(
        `${name} task queue ${ctx.taskQueue}: backlog ~${String(r.taskQueueStatus?.backlogCountHint ?? '?')}; ` +
          `pollers: ${pollers.join(', ') || 'none'}`,
      );
    } catch (error) {
      lines.push(`${name} task queue ${ctx.taskQueue}: describe failed: ${(error as Error).message}`);
    }
  }
  // Threads of this process (worker, client and the SDK's core threads) and what each waits on.
  try {
    const waits = new Map<string, number>();
    for (const tid of readdirSync('/proc/self/task')) {
      const comm = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
      const key = `${comm.replace(/[0-9]+$/, '#')}:${state}`;
      waits.set(key, (waits.get(key) ?? 0) + 1);
    }
    lines.push(
      `threads of this process (name:state x count): ${[...waits].map(([k, n]) => `${k} x${n}`).join(', ')}`,
    );
  } catch (error) {
    lines.push(`threads: ${(error as Error).message}`);
  }
  if (ctx.server.pid) {
    try {
      process.kill(ctx.server.pid, 'SIGQUIT');
      lines.push(
        `sent SIGQUIT to the dev server (pid ${ctx.server.pid}): its goroutines are in ${ctx.server.logPath}`,
      );
    } catch (error) {
      lines.push(`SIGQUIT to the dev server failed: ${(error as Error).message}`);
    }
  }
  return lines;
}
