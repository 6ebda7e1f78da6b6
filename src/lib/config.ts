// Where Patchbay finds Temporal. Without TEMPORAL_ADDRESS it uses the embedded dev server on loopback;
// with it (and namespace, TLS, API key) the same binaries talk to any Temporal cluster.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ConnectionOptions } from '@temporalio/client';

export const DEFAULT_TASK_QUEUE = 'patchbay';
export const EMBEDDED_ADDRESS = '127.0.0.1:7233';
export const EMBEDDED_UI_PORT = 8233;

export interface TemporalConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  embedded: boolean;
  connection: ConnectionOptions;
}

export function temporalConfig(env: NodeJS.ProcessEnv = process.env): TemporalConfig {
  const address = env.TEMPORAL_ADDRESS || EMBEDDED_ADDRESS;
  const connection: ConnectionOptions = { address };
  if (env.TEMPORAL_TLS_CERT && env.TEMPORAL_TLS_KEY) {
    connection.tls = {
      clientCertPair: { crt: readFileSync(env.TEMPORAL_TLS_CERT), key: readFileSync(env.TEMPORAL_TLS_KEY) },
    };
  }
  if (env.TEMPORAL_API_KEY) {
    connection.apiKey = env.TEMPORAL_API_KEY;
    connection.tls ??= true;
  }
  return {
    address,
    namespace: env.TEMPORAL_NAMESPACE || 'default',
    taskQueue: env.PATCHBAY_TASK_QUEUE || DEFAULT_TASK_QUEUE,
    embedded: !env.TEMPORAL_ADDRESS,
    connection,
  };
}

/** The project folder (where package.json is), for .tools and .state. */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
export const STATE_DIR = process.env.PATCHBAY_STATE_DIR || path.join(PROJECT_ROOT, '.state');
export const TEMPORAL_BIN =
  process.env.PATCHBAY_TEMPORAL_BIN || path.join(PROJECT_ROOT, '.tools', 'bin', 'temporal');
