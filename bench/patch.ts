// npm run bench:patch — rolling patch of a 3-instance fixture service by Patchbay (Temporal workflows,
// activities, worker) beside a plain script doing the same Docker steps directly, in the same run,
// alternating, on the same engine. Prints both, and the ratio (orchestration overhead); with
// --engines dev,cluster (the default when scripts/temporal-cluster.sh is built) the whole run on the
// dev server, then on a real cluster (mTLS), and the ratio cluster/dev.
import type Docker from 'dockerode';
import type { PatchbayClient } from '../src/client/patchbayClient';
import { CloudRecordSchema, type CloudRecord } from '../src/record/schema';
import { dockerClient } from '../src/runtime/dockerClient';
import { probeHttp } from '../src/runtime/httpProbe';
import { clusterBuilt, type EngineKind } from './engines';
import { startBenchStack } from './stack';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PATCHBAY_PORTS = [18901, 18902, 18903];
const SCRIPT_PORTS = [18911, 18912, 18913];
/** Each round patches every instance to the next version of the scenario. */
interface Scenario {
  name: string;
  version(round: number): { image: string; env: Record<string, string> };
}
const SCENARIOS: Scenario[] = [
  {
    name: 'instant fixture (serves within ms)',
    version: (round) => ({ image: round % 2 ? 'patchbay/fixture:v2' : 'patchbay/fixture:v1', env: {} }),
  },
  {
    // A new setting (not a new image) also replaces every instance: here, one that starts in 2 s.
    name: 'service that needs 2 s to become healthy',
    version: (round) => ({ image: 'patchbay/fixture:slow', env: { SLOW_START: '2', ROUND: String(round) } }),
  },
];
const docker: Docker = dockerClient('unix:///var/run/docker.sock');

function record({ image, env }: { image: string; env: Record<string, string> }): CloudRecord {
  return CloudRecordSchema.parse({
    apiVersion: 'patchbay/v1',
    kind: 'Cloud',
    metadata: { name: 'bench' },
    spec: {
      runtime: { docker: { hosts: [{ name: 'local' }] } },
      services: [
        {
          name: 'api',
          image,
          instances: PATCHBAY_PORTS.map((port) => ({ host: 'local', port })),
          env: { PORT: '{{port}}', ...env },
          health: { http: { path: '/health' }, timeout: '30s', interval: '100ms' },
          upgrade: { maxUnavailable: 1, bake: '0s' },
          stopGracePeriod: '2s',
        },
      ],
    },
  });
}

/** The baseline: what a careful shell script would do, one instance at a time, no orchestration. */
async function scriptPatch(
  { image, env }: { image: string; env: Record<string, string> },
  generation: number,
): Promise<void> {
  for (const port of SCRIPT_PORTS) {
    const name = `bench-script-${port}`;
    const old = docker.getContainer(name);
    await old.stop({ t: 2 }).catch(() => undefined);
    await old.rename({ name: `${name}-old-${generation}` }).catch(() => undefined);
    const created = await docker.createContainer({
      name,
      Image: image,
      Env: [`PORT=${port}`, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)],
      HostConfig: { NetworkMode: 'host', Init: true, RestartPolicy: { Name: 'unless-stopped' } },
    });
    await created.start();
    for (;;) {
      if ((await probeHttp(`http://127.0.0.1:${port}/health`, 1_000)).status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  for (const port of SCRIPT_PORTS) {
    await docker
      .getContainer(`bench-script-${port}-old-${generation}`)
      .remove({ force: true })
      .catch(() => undefined);
  }
}

async function cleanup(): Promise<void> {
  const all = await docker.listContainers({ all: true });
  for (const c of all) {
    const name = c.Names[0] ?? '';
    if (name.startsWith('/bench-script-') || c.Labels['io.patchbay.cloud'] === 'bench') {
      await docker.getContainer(c.Id).remove({ force: true });
    }
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? (s[(s.length - 1) / 2] as number)
    : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

const seconds = (x: number): string => `${(x / 1000).toFixed(2)} s`;

/** Runs one scenario: a deploy (not timed), then ROUNDS patches by each side, alternating. */
async function runScenario(
  client: PatchbayClient,
  scenario: Scenario,
): Promise<{ script: number[]; patchbay: number[] }> {
  const script: number[] = [];
  const patchbay: number[] = [];
  const first = await client.apply(record(scenario.version(0)), { message: 'bench deploy', author: 'bench' });
  await client.waitForChange('bench', first);
  await scriptPatch(scenario.version(0), 0);
  for (let round = 1; round <= ROUNDS; round++) {
    const version = scenario.version(round);
    let t0 = performance.now();
    await scriptPatch(version, round);
    script.push(performance.now() - t0);
    t0 = performance.now();
    const accepted = await client.apply(record(version), {
      message: `bench round ${round}`,
      author: 'bench',
    });
    const result = await client.waitForChange('bench', accepted);
    patchbay.push(performance.now() - t0);
    if (result.outcome !== 'applied') throw new Error(`round ${round}: ${result.outcome} ${result.reason}`);
    process.stderr.write(
      `  ${scenario.name}, round ${round}: script ${seconds(script.at(-1) as number)}, patchbay ${seconds(patchbay.at(-1) as number)}\n`,
    );
  }
  return { script, patchbay };
}

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};

type Results = Array<{ scenario: Scenario; script: number[]; patchbay: number[] }>;

/** Every scenario on one engine: a stack of its own, torn down after. */
async function onEngine(kind: EngineKind): Promise<Results> {
  await cleanup();
  const stack = await startBenchStack(17933, 'bench', undefined, { engine: kind });
  const client = stack.client;
  const results: Results = [];
  try {
    for (const scenario of SCENARIOS) {
      process.stderr.write(`${kind}:\n`);
      results.push({ scenario, ...(await runScenario(client, scenario)) });
      await cleanup(); // each scenario starts from nothing (the Temporal history of "bench" goes on)
    }
  } finally {
    await stack.stop();
    await cleanup();
  }
  return results;
}

async function main(): Promise<void> {
  // dev, cluster or both (default: both when scripts/temporal-cluster.sh is there and built).
  const engines = arg('engines', clusterBuilt() ? 'dev,cluster' : 'dev')
    .split(',')
    .filter(Boolean) as EngineKind[];
  const byEngine = new Map<EngineKind, Results>();
  for (const kind of engines) byEngine.set(kind, await onEngine(kind));
  const range = (xs: number[]) => `[${seconds(Math.min(...xs))}, ${seconds(Math.max(...xs))}]`;
  for (const [kind, results] of byEngine) {
    console.log(
      `rolling patch of 3 instances (maxUnavailable 1, no bake) on ${kind === 'dev' ? 'the dev server' : 'the cluster (mTLS)'}, ${ROUNDS} rounds each, medians [min, max]:`,
    );
    for (const { scenario, script, patchbay } of results) {
      const p = median(patchbay);
      const s = median(script);
      console.log(`${scenario.name}:`);
      console.log(`  baseline (plain script, same Docker steps): ${seconds(s)} ${range(script)}`);
      console.log(`  patchbay (Temporal workflows + activities): ${seconds(p)} ${range(patchbay)}`);
      console.log(`  ratio patchbay/baseline: ${(p / s).toFixed(3)} (+${seconds(p - s)} orchestration)`);
    }
  }
  const dev = byEngine.get('dev');
  const cluster = byEngine.get('cluster');
  if (dev && cluster) {
    console.log('');
    console.log(
      '| scenario | baseline script | Patchbay on dev | Patchbay on cluster | ratio cluster/dev | orchestration dev / cluster |',
    );
    console.log('| --- | --- | --- | --- | --- | --- |');
    dev.forEach((d, i) => {
      const c = cluster[i]!;
      const base = median([...d.script, ...c.script]);
      const [pd, pc] = [median(d.patchbay), median(c.patchbay)];
      console.log(
        `| ${d.scenario.name} | ${seconds(base)} | ${seconds(pd)} ${range(d.patchbay)} | ${seconds(pc)} ${range(c.patchbay)} | ${(pc / pd).toFixed(3)} | +${seconds(pd - median(d.script))} / +${seconds(pc - median(c.script))} |`,
      );
    });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
