// npm run bench:patch — rolling patch of a 3-instance fixture service by Patchbay (Temporal workflows,
// activities, worker) beside a plain script doing the same Docker steps directly, in the same run,
// alternating, on the same engine. Prints both, and the ratio (orchestration overhead).
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type Docker from 'dockerode';
import { PatchbayClient } from '../src/client/patchbayClient';
import { temporalConfig, TEMPORAL_BIN } from '../src/lib/config';
import { startDevServer } from '../src/lib/devServer';
import { CloudRecordSchema, type CloudRecord } from '../src/record/schema';
import { dockerClient } from '../src/runtime/dockerClient';
import { probeHttp } from '../src/runtime/httpProbe';
import { createWorker } from '../src/worker/worker';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PATCHBAY_PORTS = [18901, 18902, 18903];
const SCRIPT_PORTS = [18911, 18912, 18913];
const IMAGES = ['patchbay/fixture:v1', 'patchbay/fixture:v2'];
const docker: Docker = dockerClient('unix:///var/run/docker.sock');

function record(image: string): CloudRecord {
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
          env: { PORT: '{{port}}' },
          health: { http: { path: '/health' }, timeout: '30s', interval: '100ms' },
          upgrade: { maxUnavailable: 1, bake: '0s' },
          stopGracePeriod: '2s',
        },
      ],
    },
  });
}

/** The baseline: what a careful shell script would do, one instance at a time, no orchestration. */
async function scriptPatch(image: string, generation: number): Promise<void> {
  for (const port of SCRIPT_PORTS) {
    const name = `bench-script-${port}`;
    const old = docker.getContainer(name);
    await old.stop({ t: 2 }).catch(() => undefined);
    await old.rename({ name: `${name}-old-${generation}` }).catch(() => undefined);
    const created = await docker.createContainer({
      name,
      Image: image,
      Env: [`PORT=${port}`],
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

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  await cleanup();
  const server = await startDevServer({
    binary: TEMPORAL_BIN,
    stateDir: mkdtempSync(path.join(os.tmpdir(), 'patchbay-bench-')),
    port: 17933,
    uiPort: 18933,
    ephemeral: true,
    headless: true,
  });
  const config = temporalConfig({ TEMPORAL_ADDRESS: server.address, PATCHBAY_TASK_QUEUE: 'bench' });
  const { worker, connection } = await createWorker({ config });
  const running = worker.run();
  const client = await PatchbayClient.connect(config);
  const patchbay: number[] = [];
  const script: number[] = [];
  try {
    // Initial deploys (not timed).
    const first = await client.apply(record(IMAGES[0] as string), {
      message: 'bench deploy',
      author: 'bench',
    });
    await client.waitForChange('bench', first);
    await scriptPatch(IMAGES[0] as string, 0);
    for (let round = 1; round <= ROUNDS; round++) {
      const image = IMAGES[round % 2] as string;
      let t0 = performance.now();
      await scriptPatch(image, round);
      script.push(performance.now() - t0);
      t0 = performance.now();
      const accepted = await client.apply(record(image), {
        message: `bench round ${round}`,
        author: 'bench',
      });
      const result = await client.waitForChange('bench', accepted);
      patchbay.push(performance.now() - t0);
      if (result.outcome !== 'applied') throw new Error(`round ${round}: ${result.outcome} ${result.reason}`);
      process.stderr.write(
        `round ${round}: script ${(script.at(-1)! / 1000).toFixed(2)} s, patchbay ${(patchbay.at(-1)! / 1000).toFixed(2)} s\n`,
      );
    }
  } finally {
    await client.close();
    worker.shutdown();
    await running;
    await connection.close();
    await server.stop();
    await cleanup();
  }
  const ms = (x: number) => `${(x / 1000).toFixed(2)} s`;
  const p = median(patchbay);
  const s = median(script);
  console.log(`rolling patch of 3 fixture instances, ${ROUNDS} rounds, medians:`);
  console.log(
    `  baseline (plain script, same Docker steps): ${ms(s)}  [min ${ms(Math.min(...script))}, max ${ms(Math.max(...script))}]`,
  );
  console.log(
    `  patchbay (Temporal workflow + activities):  ${ms(p)}  [min ${ms(Math.min(...patchbay))}, max ${ms(Math.max(...patchbay))}]`,
  );
  console.log(
    `  ratio patchbay/baseline: ${(p / s).toFixed(3)}  (overhead ${(((p - s) / s) * 100).toFixed(1)} %)`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
