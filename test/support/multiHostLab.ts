// The multi-host test lab (scripts/multihost-lab.sh) for tests: N "hosts", each a Linux network
// namespace pblab-hX with the address 10.77.0.1X on bridge pblab0 (10.77.0.1) and its own Docker engine
// on /run/pblab/hX/docker.sock. Needs root.
//
//   const hosts = await startLab(3);              // idempotent: ~1 s warm, ~6 s the first time (image copy)
//   const agent = execIn(hosts[0], 'node', ['agent.js'], { detached: true }); // runs "on" h1
//   const fwd = await forwardPort(LAB_GATEWAY, 0, '127.0.0.1', temporalPort); // h1..hN reach it at 10.77.0.1:fwd.port
//   await cutLink(hosts[1]); await restoreLink(hosts[1]);   // a network cut of h2
//   await stopEngine(hosts[1]); await startEngine(hosts[1]); // h2's Docker engine down / up
//   await fwd(); // closes the forwarder
//
// Lifetime: a lab this test run started (none was running) is stopped by the global teardown
// (stopLabIfStartedBy); a lab started by hand (`scripts/multihost-lab.sh start`) is left running.
import { execFile, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/lib/config';
import { TEST_ENV } from './env';

export const LAB_SCRIPT = path.join(PROJECT_ROOT, 'scripts', 'multihost-lab.sh');
/** The root namespace's address on the lab bridge: what the hosts reach a forwarded port on. */
export const LAB_GATEWAY = '10.77.0.1';
/** Names the test run that started the lab (so that its global teardown stops it, and no other's). */
const OWNER_FILE = '/run/pblab/.started-by-run';

export interface LabHost {
  /** h1..h4 */
  name: string;
  /** 10.77.0.1X: its eth0, reachable from the root namespace and the other hosts */
  address: string;
  /** its Docker engine: unix socket path (DOCKER_HOST is `unix://${socket}`) */
  socket: string;
  /** its network namespace (pblab-hX), at /var/run/netns/<netns> */
  netns: string;
}

export interface LabHostStatus extends LabHost {
  engine: boolean;
  enginePid: number | null;
  link: 'up' | 'down';
}

export interface LabStatus {
  bridge: { name: string; address: string; up: boolean };
  hosts: LabHostStatus[];
}

type HostRef = LabHost | string;
const hostName = (host: HostRef): string => (typeof host === 'string' ? host : host.name);

function lab(args: string[], timeoutMs = 60_000, env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [LAB_SCRIPT, ...args],
      // The env is passed explicitly: a test file's process.env is Jest's copy, not what children get.
      { timeout: timeoutMs, maxBuffer: 4 << 20, killSignal: 'SIGKILL', env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        if (error)
          reject(new Error(`multihost-lab.sh ${args.join(' ')} failed: ${error.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

export async function labStatus(): Promise<LabStatus> {
  return JSON.parse(await lab(['status', '--json'])) as LabStatus;
}

/**
 * Starts h1..hN (1..4), or finds them running; resolves once every engine answers and has the images
 * (`images`, default: the fixture and HAProxy images).
 */
export async function startLab(n = 3, options: { images?: string[] } = {}): Promise<LabHost[]> {
  const run = process.env[TEST_ENV.run];
  // None running: this run starts it (and so its teardown stops it, even after a failed start).
  if (run && (await labStatus()).hosts.length === 0) {
    mkdirSync(path.dirname(OWNER_FILE), { recursive: true });
    writeFileSync(OWNER_FILE, run);
  }
  await lab(['start', String(n)], 600_000, options.images ? { PBLAB_IMAGES: options.images.join(' ') } : {});
  const hosts = (await labStatus()).hosts.slice(0, n);
  if (hosts.length !== n || hosts.some((h) => !h.engine))
    throw new Error(`the lab did not come up: ${JSON.stringify(hosts)}`);
  return hosts.map(({ name, address, socket, netns }) => ({ name, address, socket, netns }));
}

/** Stops the whole lab: containers, engines, everything run in the namespaces, the network. */
export async function stopLab(): Promise<void> {
  await lab(['stop'], 120_000);
  rmSync(OWNER_FILE, { force: true });
}

/** For the global teardown: stops the lab if the test run `run` started it. */
export async function stopLabIfStartedBy(run: string | undefined): Promise<void> {
  let owner: string;
  try {
    owner = readFileSync(OWNER_FILE, 'utf8');
  } catch {
    return;
  }
  if (run && owner === run) await stopLab();
}

export interface ExecInOptions {
  /** its own process group (kill it with process.kill(-child.pid)); default false */
  detached?: boolean;
  /** added to process.env and to DOCKER_HOST=unix://<host socket>, PBLAB_HOST=<name> */
  env?: NodeJS.ProcessEnv;
  /** default 'pipe' (read or drain stdout/stderr of a long-running process, or pass 'ignore') */
  stdio?: StdioOptions;
  cwd?: string;
}

/**
 * Runs `cmd args` in the host's network namespace (`nsenter --net`, which execs it: the child's pid is
 * the command's): it sees only the host's lo and eth0, and its DOCKER_HOST is the host's engine. The
 * file system and everything else are the machine's.
 */
export function execIn(
  host: LabHost,
  cmd: string,
  args: string[] = [],
  options: ExecInOptions = {},
): ChildProcess {
  return spawn('nsenter', [`--net=/var/run/netns/${host.netns}`, '--', cmd, ...args], {
    detached: options.detached ?? false,
    stdio: options.stdio ?? 'pipe',
    cwd: options.cwd,
    env: { ...process.env, DOCKER_HOST: `unix://${host.socket}`, PBLAB_HOST: host.name, ...options.env },
  });
}

/** A network cut: the host's bridge-side veth goes down (its engine's unix socket still answers). */
export async function cutLink(host: HostRef): Promise<void> {
  await lab(['link', hostName(host), 'down']);
}

export async function restoreLink(host: HostRef): Promise<void> {
  await lab(['link', hostName(host), 'up']);
}

/** Stops the host's dockerd (it stops its containers, 3 s at most each). */
export async function stopEngine(host: HostRef): Promise<void> {
  await lab(['engine', hostName(host), 'stop'], 90_000);
}

/** Starts the host's dockerd; resolves when it answers (containers come back per their restart policy). */
export async function startEngine(host: HostRef): Promise<void> {
  await lab(['engine', hostName(host), 'start'], 90_000);
}

export type PortForward = (() => Promise<void>) & { port: number };

/**
 * A TCP forwarder in this process: listens on listenAddress:listenPort (0: any free port, see .port)
 * and pipes each connection to targetHost:targetPort. With LAB_GATEWAY as listenAddress, processes on
 * the lab hosts reach a server that listens only on the root namespace's 127.0.0.1 (the Temporal dev
 * server): 10.77.0.1:<port>. Call the result to close it and every connection it holds.
 */
export function forwardPort(
  listenAddress: string,
  listenPort: number,
  targetHost: string,
  targetPort: number,
): Promise<PortForward> {
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, listenAddress, () => {
      const close = () =>
        new Promise<void>((done) => {
          for (const s of open) s.destroy();
          server.close(() => done());
        });
      resolve(Object.assign(close, { port: (server.address() as net.AddressInfo).port }));
    });
  });
}
