// The production-shaped Temporal cluster (scripts/temporal-cluster.sh: temporal-server's history,
// matching, frontend and worker services as processes of their own, on a PostgreSQL of their own, the
// frontend behind mutual TLS), started per test file in its own state directory. Tests point Patchbay
// at it with `env` (what temporalConfig() reads) or `connectionOptions()`, and can stop and restart
// one service under a running change.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ConnectionOptions } from '@temporalio/client';
import { PROJECT_ROOT } from '../../src/lib/config';

const SCRIPT = path.join(PROJECT_ROOT, 'scripts', 'temporal-cluster.sh');

export const TEMPORAL_SERVICES = ['history', 'matching', 'frontend', 'worker'] as const;
export type TemporalService = (typeof TEMPORAL_SERVICES)[number];

/** DIR/cluster.json, as the script writes it (re-read after a service restarts: its pid changes). */
export interface ClusterInfo {
  address: string;
  namespace: string;
  tls: { ca: string; cert: string; key: string; serverName: string };
  services: Record<
    TemporalService,
    { pid: number; grpcPort: number; membershipPort: number; httpPort?: number; log: string }
  >;
  postgres: {
    pid: number;
    port: number;
    dataDir: string;
    user: string;
    databases: string[];
    log: string;
  };
  /** The server's config file (every service reads it) and the dynamic config file it names. */
  config: string;
  dynamicConfig: string;
  /** The build's copy of the server module's schema/ and config template. */
  build: { version: string; schemaDir: string; configTemplate: string };
  /** The sourceable env file. */
  env: string;
}

export interface TemporalCluster {
  dir: string;
  address: string;
  namespace: string;
  /** TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_CERT/KEY/CA/SERVER_NAME: for temporalConfig(). */
  env: Record<string, string>;
  /** For Connection.connect / NativeConnection.connect: the address and the mTLS material. */
  connectionOptions(): ConnectionOptions;
  info(): ClusterInfo;
  /** Stops one service: SIGTERM (graceful), or SIGKILL with { kill: true }. */
  stopService(name: TemporalService, options?: { kill?: boolean }): void;
  /** Starts a stopped service again, on the same ports and config; returns when it serves. */
  startService(name: TemporalService): void;
  /** Stops everything (no process left) and removes the state directory if this call made it. */
  stop(): void;
}

/** Starts a fresh cluster in dir (default: a new temporary directory). ~10 s warm. */
export function startTemporalCluster(dir?: string): TemporalCluster {
  const state = dir ?? mkdtempSync(path.join(os.tmpdir(), 'patchbay-temporal-'));
  const run = (args: string[], timeout = 180_000) =>
    execFileSync('bash', [SCRIPT, ...args, '--dir', state], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout,
    });
  try {
    run(['start']);
  } catch (first) {
    // The cluster is the tests' scaffolding, not what they test: one more try on a fresh cluster, with
    // the first failure printed above (its component, exit status and log tail) for whoever reads CI.
    console.warn(`Temporal test cluster did not start (${String(first)}); stopping it and trying once more`);
    run(['stop'], 60_000);
    try {
      run(['start']);
    } catch (second) {
      run(['stop'], 60_000); // no process left behind for a cluster nobody will stop
      throw second;
    }
  }
  const info = (): ClusterInfo =>
    JSON.parse(readFileSync(path.join(state, 'cluster.json'), 'utf8')) as ClusterInfo;
  const { address, namespace, tls } = info();
  return {
    dir: state,
    address,
    namespace,
    env: {
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_TLS_CERT: tls.cert,
      TEMPORAL_TLS_KEY: tls.key,
      TEMPORAL_TLS_CA: tls.ca,
      TEMPORAL_TLS_SERVER_NAME: tls.serverName,
    },
    connectionOptions: () => ({
      address,
      tls: {
        serverNameOverride: tls.serverName,
        serverRootCACertificate: readFileSync(tls.ca),
        clientCertPair: { crt: readFileSync(tls.cert), key: readFileSync(tls.key) },
      },
    }),
    info,
    stopService(name, options = {}) {
      run(['stop-service', name, ...(options.kill ? ['--kill'] : [])], 60_000);
    },
    startService(name) {
      run(['start-service', name], 120_000);
    },
    stop() {
      run(['stop'], 60_000);
      if (!dir) rmSync(state, { recursive: true, force: true });
    },
  };
}
