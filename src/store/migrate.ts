// Brings the record store's schema to the latest version: node-pg-migrate applies the SQL files in
// src/store/migrations in order and records each in patchbay_migrations. Every process that serves
// the store runs it at start, so several at once must take turns (an advisory lock, waited for).
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { runner } from 'node-pg-migrate';
import { Client } from 'pg';
import { PatchbayError } from '../lib/errors';
import { redactUrl } from './config';

export const MIGRATIONS_DIR = path.join(__dirname, 'migrations');
export const MIGRATIONS_TABLE = 'patchbay_migrations';
// node-pg-migrate's own lock key: its pg_try_advisory_lock then succeeds on our session (session locks
// nest), and a migration run by its CLI and ours exclude each other.
const LOCK_KEY = '7241865325823964';
const LOCK_WAIT_S = 120;
const silent = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

export interface MigrateResult {
  /** Migrations this call applied (none when another process had already done it). */
  applied: string[];
  /** The latest migration now applied, e.g. 1733400000002_read-views. */
  version: string;
}

/** Applies pending migrations (only the first `count`, for tests that need an older schema). */
export async function migrateStore(url: string, options: { count?: number } = {}): Promise<MigrateResult> {
  const client = await connect(url);
  try {
    // node-pg-migrate only tries its lock and fails when another process holds it ("Another migration
    // is already running"): a worker starting beside another must wait its turn instead, bounded.
    await client.query(`SET lock_timeout = '${LOCK_WAIT_S}s'`);
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    await client.query('RESET lock_timeout');
    const ran = await runner({
      dbClient: client,
      dir: MIGRATIONS_DIR,
      direction: 'up',
      migrationsTable: MIGRATIONS_TABLE,
      checkOrder: true,
      count: options.count,
      logger: silent,
    });
    const done = await appliedMigrations(client);
    return { applied: ran.map((m) => m.name), version: done.at(-1) ?? '' };
  } catch (error) {
    const message = (error as Error).message;
    if ((error as { code?: string }).code === '55P03') {
      throw new PatchbayError(
        'ENVIRONMENT',
        `the record store at ${redactUrl(url)} stayed locked by another migration for ${LOCK_WAIT_S} s ` +
          '(see pg_stat_activity for the session holding it)',
      );
    }
    throw new PatchbayError(
      'ENVIRONMENT',
      `migrating the record store at ${redactUrl(url)} failed: ${message}`,
    );
  } finally {
    // Ending the session releases the advisory lock too.
    await client.end();
  }
}

/** Which migrations the database has, and which of this code's it still lacks. */
export async function storeSchemaStatus(url: string): Promise<{ applied: string[]; pending: string[] }> {
  const client = await connect(url);
  try {
    const applied = await appliedMigrations(client);
    return { applied, pending: migrationNames().filter((name) => !applied.includes(name)) };
  } finally {
    await client.end();
  }
}

/** The names node-pg-migrate gives the files: every file not starting with a dot, without extension. */
export function migrationNames(): string[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((file) => !file.startsWith('.'))
    .sort()
    .map((file) => path.basename(file, path.extname(file)));
}

async function appliedMigrations(client: Client): Promise<string[]> {
  const exists = await client.query('SELECT to_regclass($1) AS t', [MIGRATIONS_TABLE]);
  if (!exists.rows[0]?.t) return []; // a database no migration has touched yet
  const { rows } = await client.query<{ name: string }>(
    `SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY run_on, id`,
  );
  return rows.map((r) => r.name);
}

async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined); // a dropped connection fails the query in progress instead
  try {
    await client.connect();
    return client;
  } catch (error) {
    throw new PatchbayError(
      'ENVIRONMENT',
      `cannot reach the record store at ${redactUrl(url)}: ${(error as Error).message}; ` +
        'start the embedded stack with "npx patchbay dev", or set PATCHBAY_DATABASE_URL to your PostgreSQL',
    );
  }
}
