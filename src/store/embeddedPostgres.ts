// The embedded record store: Debian's PostgreSQL server binaries running a cluster whose files live
// in a data directory under .state, listening on loopback only and trusting loopback connections
// (no password, like the Temporal dev server beside it). Servers are found and stopped by their data
// directory, so a test can stop one that another process started and start it again.
import { execFile, execFileSync, spawn } from 'node:child_process';
import {
  chownSync,
  closeSync,
  existsSync,
  lchownSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  rmdirSync,
  statSync,
} from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { portAnswers } from '../lib/devServer';
import { PatchbayError } from '../lib/errors';
import { EMBEDDED_STORE_HOST, STORE_DATABASE, STORE_USER, embeddedStoreUrl } from './config';

const PG_ROOT = '/usr/lib/postgresql';
const INSTALL_HINT = 'run "bash scripts/bootstrap.sh" (installs Debian\'s postgresql)';
const READY_TIMEOUT_MS = 30_000;

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  host?: string;
  /** False: refuse a server that already answers on the port (a fresh store must be ours). */
  reuse?: boolean;
}

export interface EmbeddedPostgres {
  /** postgres://patchbay@host:port/patchbay */
  url: string;
  /** False when a server already answered on the port and was reused. */
  started: boolean;
  pid?: number;
  logPath: string;
  /** Stops the server if this call started it (fast shutdown: sessions are cut, data is safe). */
  stop(): Promise<void>;
}

interface Owner {
  uid: number;
  gid: number;
}

/** Starts (or reuses) PostgreSQL on host:port with its data in dataDir, with role and database patchbay. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const host = options.host ?? EMBEDDED_STORE_HOST;
  const { port } = options;
  const dataDir = path.resolve(options.dataDir);
  const url = embeddedStoreUrl(port, host);
  const logPath = path.join(dataDir, 'postgres.log');
  if (await portAnswers(host, port)) {
    if (options.reuse === false) {
      throw new PatchbayError(
        'ENVIRONMENT',
        `cannot start PostgreSQL on ${host}:${port}: the port is in use`,
      );
    }
    await waitForStore(host, port, () => undefined, logPath);
    return { url, started: false, logPath, stop: async () => undefined };
  }

  const owner = serverOwner();
  mkdirSync(path.dirname(dataDir), { recursive: true });
  if (owner) assertReachable(dataDir, owner);
  await initCluster(dataDir, owner);
  if (owner && statSync(dataDir).uid !== owner.uid) chownTree(dataDir, owner);
  // Our own socket directory: Debian's /run/postgresql may not exist, and it belongs to the system cluster.
  const socketDir = path.join(dataDir, 'sock');
  mkdirSync(socketDir, { recursive: true });
  if (owner) chownSync(socketDir, owner.uid, owner.gid);

  const log = openSync(logPath, 'a');
  // Detached (its own session): Ctrl-C in `patchbay dev` reaches the worker, which stops first, and
  // then stop() shuts the server down; if this process dies, the server keeps running and is reused.
  const child = spawn(
    path.join(binDirFor(dataDir), 'postgres'),
    ['-D', dataDir, '-p', String(port), '-k', socketDir, '-c', `listen_addresses=${host}`],
    { detached: true, stdio: ['ignore', log, log], cwd: '/', ...owner },
  );
  closeSync(log);
  child.unref();
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `exited with ${signal ?? code}`));
  child.once('error', (error) => (exited = error.message));
  try {
    await waitForStore(host, port, () => exited, logPath);
  } catch (error) {
    if (!exited) child.kill('SIGQUIT'); // immediate shutdown: it never became usable
    throw error;
  }
  return { url, started: true, pid: child.pid, logPath, stop: () => stopPostgres(dataDir) };
}

/** A new, empty store (tests, benches): stops a server a crashed run left on dataDir, wipes it, starts. */
export async function startFreshPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  await stopPostgres(options.dataDir);
  rmSync(options.dataDir, { recursive: true, force: true });
  return startEmbeddedPostgres({ ...options, reuse: false });
}

/** Stops the server running on dataDir, whoever started it; nothing when none runs. */
export async function stopPostgres(dataDir: string): Promise<void> {
  const dir = path.resolve(dataDir);
  const pidFile = path.join(dir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  try {
    await run(
      path.join(binDirFor(dir), 'pg_ctl'),
      ['stop', '-D', dir, '-m', 'fast', '-w', '-t', '60'],
      serverOwner(),
    );
  } catch (error) {
    const output = outputOf(error);
    // A postmaster.pid left by a killed server: nothing runs.
    if (!existsSync(pidFile) || /No such process|Is server running\?/.test(output)) return;
    throw new PatchbayError('ENVIRONMENT', `could not stop PostgreSQL on ${dir}: ${output}`);
  }
}

/** The newest installed server binaries, or those of the given major version. */
export function postgresBinDir(version?: string): string {
  const installed = existsSync(PG_ROOT)
    ? readdirSync(PG_ROOT)
        .filter((v) => /^\d+$/.test(v) && existsSync(path.join(PG_ROOT, v, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (version === undefined) {
    if (!installed[0]) {
      throw new PatchbayError(
        'ENVIRONMENT',
        `PostgreSQL's server binaries are not in ${PG_ROOT}/*/bin; ${INSTALL_HINT}`,
      );
    }
    return path.join(PG_ROOT, installed[0], 'bin');
  }
  if (!installed.includes(version)) {
    throw new PatchbayError(
      'ENVIRONMENT',
      `this data directory belongs to PostgreSQL ${version}, whose binaries are not in ${PG_ROOT}/${version}/bin; ` +
        `install postgresql-${version}, or dump it with that version and restore it into a new one`,
    );
  }
  return path.join(PG_ROOT, version, 'bin');
}

/** A data directory only runs with the major version that created it. */
function binDirFor(dataDir: string): string {
  return postgresBinDir(readFileSync(path.join(dataDir, 'PG_VERSION'), 'utf8').trim());
}

/** As root, the server runs as Debian's postgres user (it refuses root); otherwise as us. */
function serverOwner(): Owner | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new PatchbayError(
      'ENVIRONMENT',
      `PostgreSQL refuses to run as root and there is no "postgres" user to run it as; ${INSTALL_HINT}`,
    );
  }
}

/** Every directory above dataDir must let the postgres user through, or initdb fails obscurely. */
function assertReachable(dataDir: string, owner: Owner): void {
  for (let dir = path.dirname(dataDir); ; dir = path.dirname(dir)) {
    const { uid, gid, mode } = statSync(dir);
    const bit = uid === owner.uid ? 0o100 : gid === owner.gid ? 0o010 : 0o001;
    if (!(mode & bit)) {
      throw new PatchbayError(
        'ENVIRONMENT',
        `the postgres user cannot reach ${dataDir}: ${dir} has mode ${(mode & 0o777).toString(8)}; ` +
          `run "chmod o+x ${dir}" or choose a data directory elsewhere`,
      );
    }
    if (dir === path.dirname(dir)) return;
  }
}

function chownTree(dir: string, owner: Owner): void {
  chownSync(dir, owner.uid, owner.gid);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const child = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(child, owner);
    else lchownSync(child, owner.uid, owner.gid);
  }
}

/** initdb once; into a sibling then renamed, so an interrupted initdb never leaves half a cluster. */
async function initCluster(dataDir: string, owner: Owner | undefined): Promise<void> {
  if (existsSync(path.join(dataDir, 'PG_VERSION'))) return;
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    throw new PatchbayError(
      'ENVIRONMENT',
      `${dataDir} is not empty and is not a PostgreSQL data directory (no PG_VERSION); remove it or choose another`,
    );
  }
  const staging = `${dataDir}.initdb`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { mode: 0o700 });
  if (owner) chownSync(staging, owner.uid, owner.gid);
  try {
    // Trust is safe here: initdb's rules cover the socket and loopback only, and the server listens on loopback.
    await run(
      path.join(postgresBinDir(), 'initdb'),
      ['-D', staging, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C'],
      owner,
    );
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw new PatchbayError('ENVIRONMENT', `initdb failed for ${dataDir}: ${outputOf(error)}`);
  }
  if (existsSync(dataDir)) rmdirSync(dataDir); // empty, checked above
  renameSync(staging, dataDir);
}

/** Waits until the server takes connections, then makes role and database patchbay if missing. */
async function waitForStore(
  host: string,
  port: number,
  exited: () => string | undefined,
  logPath: string,
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      return await ensureStoreDatabase(host, port);
    } catch (error) {
      const why =
        exited() ?? (Date.now() > deadline ? `no answer in ${READY_TIMEOUT_MS / 1000} s` : undefined);
      if (why) {
        throw new PatchbayError(
          'ENVIRONMENT',
          `PostgreSQL on ${host}:${port} is not usable (${why}; last error: ${(error as Error).message}); see ${logPath}` +
            `${logTail(logPath)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function ensureStoreDatabase(host: string, port: number): Promise<void> {
  const client = new Client({
    host,
    port,
    user: 'postgres',
    database: 'postgres',
    connectionTimeoutMillis: 2_000,
  });
  client.on('error', () => undefined); // the server going away mid-check is reported by the query
  await client.connect();
  try {
    // LOGIN and CREATEDB are enough: the store's migrations only create tables and views in its own database.
    if (!(await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [STORE_USER])).rowCount)
      await ignoreDuplicate(client.query(`CREATE ROLE ${STORE_USER} LOGIN CREATEDB`));
    if (!(await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [STORE_DATABASE])).rowCount)
      await ignoreDuplicate(client.query(`CREATE DATABASE ${STORE_DATABASE} OWNER ${STORE_USER}`));
  } finally {
    await client.end();
  }
}

/** Two starts racing: the other one created it first. */
async function ignoreDuplicate(query: Promise<unknown>): Promise<void> {
  try {
    await query;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== '42710' && code !== '42P04' && code !== '23505') throw error;
  }
}

function run(binary: string, args: string[], owner: Owner | undefined): Promise<unknown> {
  return promisify(execFile)(binary, args, { cwd: '/', timeout: 120_000, ...owner });
}

function outputOf(error: unknown): string {
  const e = error as { stderr?: string; stdout?: string; message?: string };
  return (e.stderr || e.stdout || e.message || String(error)).trim();
}

function logTail(logPath: string): string {
  try {
    const lines = readFileSync(logPath, 'utf8').trim().split('\n').slice(-5);
    return lines.length && lines[0] ? `:\n  ${lines.join('\n  ')}` : '';
  } catch {
    return '';
  }
}
