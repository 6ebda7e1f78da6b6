// The embedded PostgreSQL on its own data directory and port (not the test run's): first start
// (initdb), stop, start again on the same data, reuse of a running server, and the refusals.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { portAnswers } from '../../src/lib/devServer';
import {
  startEmbeddedPostgres,
  startFreshPostgres,
  stopPostgres,
  type EmbeddedPostgres,
} from '../../src/store/embeddedPostgres';
import { freePort } from '../support/freePort';

jest.setTimeout(90_000);

// mkdtemp makes a 0700 directory; the server runs as the postgres user, which must get through it.
const parent = mkdtempSync(path.join(os.tmpdir(), 'patchbay-pg-'));
chmodSync(parent, 0o755);
const dataDir = path.join(parent, 'data');
let port: number;

async function query<T>(url: string, text: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  port = await freePort();
});
afterAll(async () => {
  await stopPostgres(dataDir);
  rmSync(parent, { recursive: true, force: true });
});

test('start (initdb), write, stop, start again on the same data, reuse a running server', async () => {
  const first = await startEmbeddedPostgres({ dataDir, port });
  expect(first).toMatchObject({
    url: `postgres://patchbay@127.0.0.1:${port}/patchbay`,
    started: true,
    logPath: path.join(dataDir, 'postgres.log'),
  });
  expect(first.pid).toEqual(expect.any(Number));
  expect(await query(first.url, 'SELECT current_user AS "user", current_database() AS db')).toEqual([
    { user: 'patchbay', db: 'patchbay' },
  ]);
  await query(first.url, 'CREATE TABLE kept (v text); INSERT INTO kept VALUES ($$before the restart$$)');

  await first.stop();
  expect(await portAnswers('127.0.0.1', port)).toBe(false);
  expect(existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(false);
  await stopPostgres(dataDir); // stopping a stopped server: nothing to do

  const second = await startEmbeddedPostgres({ dataDir, port });
  expect(second.started).toBe(true);
  expect(await query(second.url, 'SELECT v FROM kept')).toEqual([{ v: 'before the restart' }]);

  // Already running: reused, and its stop() leaves it to whoever started it.
  const reused: EmbeddedPostgres = await startEmbeddedPostgres({ dataDir, port });
  expect(reused).toMatchObject({ url: second.url, started: false });
  await reused.stop();
  expect(await query(second.url, 'SELECT count(*)::int AS n FROM kept')).toEqual([{ n: 1 }]);

  await second.stop();
  expect(await portAnswers('127.0.0.1', port)).toBe(false);
});

test('a fresh store refuses a port something else listens on', async () => {
  const busy = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => busy.once('listening', r));
  const busyPort = (busy.address() as net.AddressInfo).port;
  try {
    await expect(
      startFreshPostgres({ dataDir: path.join(parent, 'fresh'), port: busyPort }),
    ).rejects.toMatchObject({ code: 'ENVIRONMENT', message: expect.stringMatching(/port is in use/) });
  } finally {
    busy.close();
  }
});

test('a directory that is not a data directory is refused, not overwritten', async () => {
  const other = path.join(parent, 'other');
  mkdirSync(other);
  writeFileSync(path.join(other, 'notes.txt'), 'mine');
  await expect(startEmbeddedPostgres({ dataDir: other, port: await freePort() })).rejects.toMatchObject({
    code: 'ENVIRONMENT',
    message: expect.stringMatching(/is not empty and is not a PostgreSQL data directory/),
  });
  expect(existsSync(path.join(other, 'notes.txt'))).toBe(true);
});

// Only root hands the data directory to the postgres user; otherwise the server runs as us.
(process.getuid?.() === 0 ? test : test.skip)(
  'as root, a data directory the postgres user cannot reach is named with the fix',
  async () => {
    const closed = mkdtempSync(path.join(os.tmpdir(), 'patchbay-pg-closed-')); // mode 0700, root's
    try {
      await expect(
        startEmbeddedPostgres({ dataDir: path.join(closed, 'data'), port: await freePort() }),
      ).rejects.toMatchObject({
        code: 'ENVIRONMENT',
        message: expect.stringContaining(
          `the postgres user cannot reach ${closed}/data: ${closed} has mode 700`,
        ),
      });
    } finally {
      rmSync(closed, { recursive: true, force: true });
    }
  },
);
