// npm run bench:agents — what reaching hosts through agents costs, in one run:
//  A. the same 3-instance patch on this machine's engine, its host reached directly by the worker
//     vs through an agent (a `patchbay agent` in this process, on its own task queue): the ratio,
//     and the added latency per host step (scheduled → completed, from the workflow histories);
//  B. the same 3-instance patch on ONE lab host vs spread over THREE lab hosts (one instance each;
//     scripts/multihost-lab.sh: separate dockerd per network namespace), every host through its agent.
// Alternating rounds, medians, ratios. Only loopback and the lab's own bridge are used.
import { execFileSync } from 'node:child_process';
import { createAgent } from '../src/agent/agent';
import type { PatchbayClient } from '../src/client/patchbayClient';
import { temporalConfig } from '../src/lib/config';
import { CloudRecordSchema, type CloudRecord } from '../src/record/schema';
import { dockerClient } from '../src/runtime/dockerClient';
import { startBenchStack } from './stack';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const LAB = 'scripts/multihost-lab.sh';
const HOST_STEPS = ['observeService', 'retireInstance', 'startInstance', 'waitHealthy', 'commitInstance'];

interface Placement {
  cloud: string;
  hosts: Array<{ name: string; address: string; endpoint: string; reach: 'agent' | 'direct' }>;
  /** Where each of the three instances runs. */
  instances: Array<{ host: string; port: number }>;
}

function record(p: Placement, round: number): CloudRecord {
  return CloudRecordSchema.parse({
    apiVersion: 'patchbay/v1',
    kind: 'Cloud',
    metadata: { name: p.cloud },
    spec: {
      runtime: { docker: { hosts: p.hosts } },
      services: [
        {
          name: 'api',
          image: round % 2 ? 'patchbay/fixture:v2' : 'patchbay/fixture:v1',
          instances: p.instances,
          env: { PORT: '{{port}}', BIND: '0.0.0.0' },
          health: { http: { path: '/health' }, timeout: '30s', interval: '100ms' },
          upgrade: { maxUnavailable: 1, bake: '0s' },
          stopGracePeriod: '2s',
        },
      ],
    },
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/** Scheduled → completed of every host step of a change's service rollout, in ms. */
async function stepLatencies(client: PatchbayClient, cloud: string, revision: number): Promise<number[]> {
  const history = await client.client.workflow.getHandle(`cloud:${cloud}:r${revision}:api`).fetchHistory();
  const scheduled = new Map<string, { type: string; at: number }>();
  const out: number[] = [];
  const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
    Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
  for (const e of history.events ?? []) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(e.eventId), { type: s.activityType?.name ?? '', at: ms(e.eventTime) });
    const c = e.activityTaskCompletedEventAttributes;
    if (c) {
      const from = scheduled.get(String(c.scheduledEventId));
      if (from && HOST_STEPS.includes(from.type)) out.push(ms(e.eventTime) - from.at);
    }
  }
  return out;
}

async function patchRounds(
  client: PatchbayClient,
  sides: Placement[],
): Promise<Map<string, { total: number[]; steps: number[] }>> {
  const out = new Map(sides.map((p) => [p.cloud, { total: [] as number[], steps: [] as number[] }]));
  for (const p of sides)
    await client.waitForChange(
      p.cloud,
      await client.apply(record(p, 0), { message: 'deploy', author: 'bench' }),
    );
  for (let round = 1; round <= ROUNDS; round++) {
    for (const p of round % 2 ? sides : [...sides].reverse()) {
      const t0 = performance.now();
      const accepted = await client.apply(record(p, round), { message: `round ${round}`, author: 'bench' });
      const result = await client.waitForChange(p.cloud, accepted);
      if (result.outcome !== 'applied')
        throw new Error(`${p.cloud} round ${round}: ${result.outcome} ${result.reason}`);
      const entry = out.get(p.cloud)!;
      entry.total.push(performance.now() - t0);
      entry.steps.push(...(await stepLatencies(client, p.cloud, accepted.revision)));
      process.stderr.write(`  ${p.cloud} round ${round}: ${secs(entry.total.at(-1)!)}\n`);
    }
  }
  return out;
}

async function removeClouds(endpoints: string[], clouds: string[]): Promise<void> {
  for (const endpoint of endpoints) {
    const docker = dockerClient(endpoint);
    for (const c of await docker.listContainers({ all: true }))
      if (clouds.includes(c.Labels['io.patchbay.cloud'] ?? ''))
        await docker.getContainer(c.Id).remove({ force: true });
  }
}

async function main(): Promise<void> {
  const lab = JSON.parse(
    (execFileSync('bash', [LAB, 'start', '3'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }),
    execFileSync('bash', [LAB, 'status', '--json'], { encoding: 'utf8' })),
  ) as { hosts: Array<{ name: string; address: string; socket: string }> };
  const local = 'unix:///var/run/docker.sock';
  const labEndpoints = lab.hosts.map((h) => `unix://${h.socket}`);
  const clouds = ['bench-direct', 'bench-agent', 'bench-onehost', 'bench-threehosts'];
  await removeClouds([local, ...labEndpoints], clouds);
  const stack = await startBenchStack(17953, 'bench-agents');
  const config = temporalConfig({ TEMPORAL_ADDRESS: stack.address });
  const agents = await Promise.all([
    createAgent({ config, cloud: 'bench-agent', host: 'local' }),
    ...lab.hosts.flatMap((h) => [
      createAgent({ config, cloud: 'bench-onehost', host: h.name }),
      createAgent({ config, cloud: 'bench-threehosts', host: h.name }),
    ]),
  ]);
  const running = agents.map((a) => a.worker.run());
  try {
    const localHost = (reach: 'agent' | 'direct') => [
      { name: 'local', address: '127.0.0.1', endpoint: local, reach },
    ];
    const ports = [18961, 18962, 18963];
    const a = await patchRounds(stack.client, [
      {
        cloud: 'bench-direct',
        hosts: localHost('direct'),
        instances: ports.map((port) => ({ host: 'local', port })),
      },
      {
        cloud: 'bench-agent',
        hosts: localHost('agent'),
        instances: ports.map((port) => ({ host: 'local', port: port + 10 })),
      },
    ]);
    const labHosts = lab.hosts.map((h) => ({
      name: h.name,
      address: h.address,
      endpoint: `unix://${h.socket}`,
      reach: 'agent' as const,
    }));
    const b = await patchRounds(stack.client, [
      { cloud: 'bench-onehost', hosts: labHosts, instances: ports.map((port) => ({ host: 'h1', port })) },
      {
        cloud: 'bench-threehosts',
        hosts: labHosts,
        instances: lab.hosts.map((h) => ({ host: h.name, port: 18981 })),
      },
    ]);
    const row = (label: string, x: { total: number[]; steps: number[] }) =>
      `${label.padEnd(44)} ${secs(median(x.total)).padStart(8)}   host step median ${median(x.steps).toFixed(0)} ms`;
    const da = a.get('bench-direct')!;
    const ag = a.get('bench-agent')!;
    const one = b.get('bench-onehost')!;
    const three = b.get('bench-threehosts')!;
    console.log(`\nbench:agents — ${ROUNDS} rounds each, 3 instances, maxUnavailable 1, medians`);
    console.log(row('A. this engine, reached directly', da));
    console.log(row('A. this engine, through an agent', ag));
    console.log(
      `   ratio agent/direct: ${(median(ag.total) / median(da.total)).toFixed(2)}x per patch; ` +
        `added per host step: ${(median(ag.steps) - median(da.steps)).toFixed(0)} ms`,
    );
    console.log(row('B. one lab host (3 instances), via its agent', one));
    console.log(row('B. three lab hosts (1 instance each), agents', three));
    console.log(`   ratio three/one: ${(median(three.total) / median(one.total)).toFixed(2)}x`);
  } finally {
    for (const agent of agents) agent.worker.shutdown();
    await Promise.all(running);
    await Promise.all(agents.map((x) => x.close()));
    await stack.stop();
    await removeClouds([local, ...labEndpoints], clouds);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
