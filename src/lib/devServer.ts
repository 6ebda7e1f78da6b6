// The embedded default: Temporal's dev server (the pinned `temporal` CLI) with its SQLite file under
// .state, so revisions and workflow histories survive restarts on a single machine.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PatchbayError } from './errors';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../workflows/searchAttributes';
import { addSearchAttributes, missingSearchAttributes } from './searchAttributeSetup';

export interface DevServerOptions {
  binary: string;
  stateDir: string;
  ip?: string;
  port?: number;
  uiPort?: number;
  /** In-memory (no SQLite file): for tests. */
  ephemeral?: boolean;
  /** No Web UI: for tests. */
  headless?: boolean;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  /** False when a server already answered on the port and was reused. */
  started: boolean;
  /** The server process and its log, when this call started it (for diagnostics). */
  pid?: number;
  logPath?: string;
  stop(): Promise<void>;
}

export function portAnswers(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const ip = options.ip ?? '127.0.0.1';
  const port = options.port ?? 7233;
  const uiPort = options.uiPort ?? port + 1000;
  const address = `${ip}:${port}`;
  const uiUrl = `http://${ip}:${uiPort}`;
  if (await portAnswers(ip, port)) {
    await registerSearchAttributes(address);
    return { address, uiUrl, started: false, stop: async () => undefined };
  }
  if (!existsSync(options.binary)) {
    throw new PatchbayError(
      'ENVIRONMENT',
      `the temporal CLI is not at ${options.binary}; run "bash scripts/bootstrap.sh" to build it`,
    );
  }
  const dir = path.join(options.stateDir, 'temporal');
  mkdirSync(dir, { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    ip,
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--log-level',
    'warn',
  ];
  if (!options.ephemeral) args.push('--db-filename', path.join(dir, 'patchbay.db'));
  if (options.headless) args.push('--headless');
  // The worker that schedules an activity gets it back in the same response: no poll round trip per step.
  args.push('--dynamic-config-value', 'system.enableActivityEagerExecution=true');
  for (const [name, type] of SEARCH_ATTRIBUTES) args.push('--search-attribute', `${name}=${type}`);
  const logPath = path.join(dir, `server-${port}.log`);
  const log = openSync(logPath, 'a');
  const child: ChildProcess = spawn(options.binary, args, { stdio: ['ignore', log, log] });
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `exited with ${signal ?? code}`));
  const deadline = Date.now() + 60_000;
  while (!(await portAnswers(ip, port))) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new PatchbayError(
        'ENVIRONMENT',
        `the Temporal dev server did not start (${exited ?? 'no answer in 60 s'}); see ${path.join(dir, `server-${port}.log`)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await registerSearchAttributes(address);
  return {
    address,
    uiUrl,
    started: true,
    pid: child.pid,
    logPath,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  };
}

/**
 * `start-dev --search-attribute` registers attributes only when it creates its database: a dev
 * server on the SQLite file of an older version lacks the newer ones (Outcome). Add what is missing.
 */
async function registerSearchAttributes(address: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const namespace = 'default';
    await addSearchAttributes(connection, namespace, await missingSearchAttributes(connection, namespace));
  } finally {
    await connection.close();
  }
}
