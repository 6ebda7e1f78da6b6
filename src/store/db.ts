// One connection pool per process to the record store, and the one translation of a connection
// failure into an operator's sentence. Activities, the CLI and benches all go through here.
import { Pool, type PoolClient, type QueryResultRow } from 'pg';
import { PatchbayError } from '../lib/errors';
import { redactUrl } from './config';

export interface Db {
  readonly url: string;
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  /** Runs fn in one transaction (BEGIN … COMMIT, ROLLBACK on error). */
  transaction<T>(fn: (client: PoolClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
  '57P01',
  '57P03',
]);

/** True for errors that mean "the database is not there right now" (worth a retry), not a bad query. */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  const message = (error as Error | null)?.message ?? '';
  return (
    (code !== undefined && CONNECTION_CODES.has(code)) ||
    /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect/i.test(message)
  );
}

function translate(url: string, error: unknown): unknown {
  if (error instanceof PatchbayError) return error;
  if (isConnectionError(error)) {
    return new PatchbayError(
      'ENVIRONMENT',
      `cannot reach the record store at ${redactUrl(url)}: ${(error as Error).message}; ` +
        'start the embedded stack with "npx patchbay dev", or set PATCHBAY_DATABASE_URL to your PostgreSQL',
      { cause: (error as Error).message },
    );
  }
  return error;
}

export function openDb(url: string, options: { max?: number; connectTimeoutMs?: number } = {}): Db {
  const pool = new Pool({
    connectionString: url,
    max: options.max ?? 5,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client's connection dying (the server restarted) must not crash the process.
  pool.on('error', () => undefined);
  return {
    url,
    async query<R extends QueryResultRow>(text: string, values?: unknown[]) {
      try {
        return (await pool.query<R>(text, values)).rows;
      } catch (error) {
        throw translate(url, error);
      }
    },
    async transaction<T>(fn: (client: PoolClient) => Promise<T>) {
      let client: PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        throw translate(url, error);
      }
      try {
        await client.query('BEGIN');
        const out = await fn(client);
        await client.query('COMMIT');
        return out;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw translate(url, error);
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
