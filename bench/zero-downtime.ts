// npm run bench:zero-downtime — the same patch of a 3-instance service behind a real HAProxy, under
// the same bounded load, done (a) by Patchbay (drain → maint → replace → health gate → ready, one at a
// time) and (b) the naive way a script would (recreate every instance at once, then wait for health).
// Prints failed requests, the error window and p50/p99 latency during each change.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type Docker from 'dockerode';
import { PatchbayClient } from '../src/client/patchbayClient';
import { TEMPORAL_BIN, temporalConfig } from '../src/lib/config';
import { startDevServer } from '../src/lib/devServer';
import { CloudRecordSchema, type CloudRecord } from '../src/record/schema';
import { dockerClient } from '../src/runtime/dockerClient';
import { probeHttp } from '../src/runtime/httpProbe';
import { serverStat } from '../src/runtime/haproxy';
import { createWorker } from '../src/worker/worker';

const docker: Docker = dockerClient('unix:///var/run/docker.sock');
const FRONT = 18960;
const PORTS = [18961, 18962, 18963];
/** A version of the service: image plus settings (a new setting also replaces every instance). */
interface Version {
  image: string;
  env: Record<string, string>;
}
const SCENARIOS: Array<{ name: string; from: Version; to: Version }> = [
  {
    name: 'instant fixture',
    from: { image: 'patchbay/fixture:v1', env: {} },
    to: { image: 'patchbay/fixture:v2', env: {} },
  },
  {
    name: 'service needing 2 s to start',
    from: { image: 'patchbay/fixture:slow', env: { SLOW_START: '2', GEN: '1' } },
    to: { image: 'patchbay/fixture:slow', env: { SLOW_START: '2', GEN: '2' } },
  },
];
const CONCURRENCY = 8;
const dir = mkdtempSync(path.join(os.tmpdir(), 'patchbay-zd-'));
const socket = path.join(dir, 'admin.sock');

function record({ image, env }: Version): CloudRecord {
  return CloudRecordSchema.parse({
    apiVersion: 'patchbay/v1',
    kind: 'Cloud',
    metadata: { name: 'zd' },
    spec: {
      runtime: { docker: { hosts: [{ name: 'local' }] } },
      loadBalancers: [{ name: 'front', haproxy: { runtimeApi: `unix://${socket}`, drainTimeout: '10s' } }],
      services: [
        {
          name: 'api',
          image,
          instances: PORTS.map((port, i) => ({
            host: 'local',
            port,
            lb: { balancer: 'front', backend: 'api', server: `s${i + 1}` },
          })),
          env: { PORT: '{{port}}', ...env },
          health: { http: { path: '/health' }, timeout: '30s', interval: '200ms' },
          upgrade: { maxUnavailable: 1, bake: '0s' },
          stopGracePeriod: '2s',
        },
      ],
    },
  });
}

/** One request: when it started and ended (epoch ms), how long it took, whether it got a 200. */
interface Sample {
  at: number;
  end: number;
  ms: number;
  ok: boolean;
}

/** A bounded load: CONCURRENCY clients, no keep-alive, until stopped (or 5 minutes, or 500k requests). */
function startLoad() {
  const samples: Sample[] = [];
  let stopped = false;
  const deadline = Date.now() + 300_000;
  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const startedAt = Date.now();
      const done = (ok: boolean) => {
        // Counted by when the request started: a request stalled by the change belongs to it.
        samples.push({ at: startedAt, end: Date.now(), ms: performance.now() - t0, ok });
        resolve();
      };
      const req = http.get(`http://127.0.0.1:${FRONT}/version`, { agent: false, timeout: 5_000 }, (res) => {
        res.resume();
        res.on('end', () => done(res.statusCode === 200));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => done(false));
    });
  const clients = Array.from({ length: CONCURRENCY }, async () => {
    while (!stopped && Date.now() < deadline && samples.length < 500_000) await one();
  });
  return {
    samples,
    async stop() {
      stopped = true;
      await Promise.all(clients);
    },
  };
}

function summarise(samples: Sample[], from: number, to: number) {
  const window = samples.filter((s) => s.at >= from && s.at <= to);
  const failed = window.filter((s) => !s.ok);
  const sorted = window.map((s) => s.ms).sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
  return {
    requests: window.length,
    failed: failed.length,
    // From the start of the first failed request to the end of the last one.
    errorWindowS: failed.length
      ? (Math.max(...failed.map((f) => f.end)) - Math.min(...failed.map((f) => f.at))) / 1000
      : 0,
    p50: pct(50),
    p99: pct(99),
    seconds: (to - from) / 1000,
  };
}

async function waitAllUp(): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const states = await Promise.all(
      PORTS.map((_p, k) => serverStat(`unix://${socket}`, 'api', `s${k + 1}`)),
    );
    if (states.every((s) => s.status === 'UP')) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('HAProxy did not see every server UP');
}

/** (b) The naive way: recreate every instance at once, then wait for them to answer. */
async function naivePatch({ image, env }: Version): Promise<void> {
  await Promise.all(
    PORTS.map(async (port, i) => {
      const name = `pb-zd-api-local-${port}`;
      await docker
        .getContainer(name)
        .remove({ force: true })
        .catch(() => undefined);
      const c = await docker.createContainer({
        name,
        Image: image,
        Env: [`PORT=${port}`, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)],
        Labels: { 'io.patchbay.cloud': 'zd', 'io.patchbay.bench': `naive-${i}` },
        HostConfig: { NetworkMode: 'host', Init: true },
      });
      await c.start();
    }),
  );
  for (const port of PORTS) {
    while ((await probeHttp(`http://127.0.0.1:${port}/health`, 1_000)).status !== 200)
      await new Promise((r) => setTimeout(r, 200));
  }
}

async function cleanup(): Promise<void> {
  for (const c of await docker.listContainers({ all: true, filters: { label: ['io.patchbay.cloud=zd'] } })) {
    await docker.getContainer(c.Id).remove({ force: true });
  }
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  await cleanup();
  writeFileSync(
    path.join(dir, 'haproxy.cfg'),
    [
      'global',
      `  stats socket ${socket} mode 600 level admin`,
      '  maxconn 4000',
      'defaults',
      '  mode http',
      '  timeout connect 2s',
      '  timeout client 10s',
      '  timeout server 10s',
      '  option http-server-close',
      'frontend fe',
      `  bind 127.0.0.1:${FRONT}`,
      '  default_backend api',
      'backend api',
      '  balance roundrobin',
      '  option httpchk GET /health',
      '  http-check expect status 200',
      ...PORTS.map((port, i) => `  server s${i + 1} 127.0.0.1:${port} check inter 300 fall 2 rise 1`),
      '',
    ].join('\n'),
  );
  const haproxy = spawn('haproxy', ['-W', '-db', '-f', path.join(dir, 'haproxy.cfg')], { stdio: 'ignore' });
  const server = await startDevServer({
    binary: TEMPORAL_BIN,
    stateDir: dir,
    port: 17934,
    uiPort: 18934,
    ephemeral: true,
    headless: true,
  });
  const config = temporalConfig({ TEMPORAL_ADDRESS: server.address, PATCHBAY_TASK_QUEUE: 'bench-zd' });
  const { worker, connection } = await createWorker({ config });
  const running = worker.run();
  const client = await PatchbayClient.connect(config);
  const results: Array<{ scenario: string; way: string } & ReturnType<typeof summarise>> = [];
  try {
    for (const scenario of SCENARIOS) {
      await cleanup();
      const deploy = await client.apply(record(scenario.from), { message: 'deploy', author: 'bench' });
      await client.waitForChange('zd', deploy);
      await waitAllUp();
      const load = startLoad();
      await new Promise((r) => setTimeout(r, 2_000)); // steady state first

      let t0 = Date.now();
      const accepted = await client.apply(record(scenario.to), { message: 'patch', author: 'bench' });
      const result = await client.waitForChange('zd', accepted);
      if (result.outcome !== 'applied') throw new Error(`patchbay patch: ${result.outcome} ${result.reason}`);
      let t1 = Date.now();
      await waitAllUp();
      await new Promise((r) => setTimeout(r, 6_000)); // requests started during the change finish (5 s timeout)
      results.push({
        scenario: scenario.name,
        way: 'patchbay (drain, one at a time)',
        ...summarise(load.samples, t0, t1),
      });

      t0 = Date.now();
      await naivePatch(scenario.from);
      await waitAllUp();
      t1 = Date.now();
      await new Promise((r) => setTimeout(r, 6_000));
      await load.stop();
      results.push({
        scenario: scenario.name,
        way: 'naive (recreate all at once)',
        ...summarise(load.samples, t0, t1),
      });
    }
  } finally {
    await client.close();
    worker.shutdown();
    await running;
    await connection.close();
    await server.stop();
    haproxy.kill('SIGTERM');
    await cleanup();
  }
  console.log(
    `patch of 3 instances behind HAProxy 2.6 under ${CONCURRENCY}-way load (GET /version, no keep-alive):`,
  );
  for (const r of results) {
    console.log(
      `  ${r.scenario.padEnd(30)} ${r.way.padEnd(32)} ${String(r.failed).padStart(6)} failed of ${String(r.requests).padStart(6)}  error window ${r.errorWindowS.toFixed(2)} s  p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  (${r.seconds.toFixed(1)} s)`,
    );
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
