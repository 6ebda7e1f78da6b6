// Where Patchbay finds Temporal. Without TEMPORAL_ADDRESS it uses the embedded dev server on loopback;
// with it (and namespace, TLS, API key) the same binaries talk to any Temporal cluster.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ConnectionOptions, TLSConfig } from '@temporalio/client';
import { PatchbayError } from './errors';

export const DEFAULT_TASK_QUEUE = 'patchbay';
export const EMBEDDED_ADDRESS = '127.0.0.1:7233';
export const EMBEDDED_UI_PORT = 8233;

export interface TemporalConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  embedded: boolean;
  connection: ConnectionOptions;
  /** How the connection is secured, for messages and `patchbay doctor` (never key material). */
  tlsMode: 'none' | 'tls' | 'mtls';
}

/** The environment variables that configure TLS to Temporal (README: "Production"). */
export const TLS_ENV = {
  cert: 'TEMPORAL_TLS_CERT',
  key: 'TEMPORAL_TLS_KEY',
  ca: 'TEMPORAL_TLS_CA',
  serverName: 'TEMPORAL_TLS_SERVER_NAME',
  /** "true": TLS with the system's CAs and no other setting (e.g. Temporal Cloud with an API key). */
  enabled: 'TEMPORAL_TLS',
} as const;

function readPem(env: NodeJS.ProcessEnv, name: string): Buffer {
  const file = env[name] as string;
  try {
    return readFileSync(file);
  } catch (error) {
    throw new PatchbayError(
      'ENVIRONMENT',
      `${name}=${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
}

/** TLS settings from the environment, or undefined for plaintext; a half-given pair is an error. */
function tlsFromEnv(env: NodeJS.ProcessEnv): TLSConfig | undefined {
  const { cert, key, ca, serverName, enabled } = TLS_ENV;
  if (!!env[cert] !== !!env[key])
    throw new PatchbayError(
      'ENVIRONMENT',
      `${env[cert] ? cert : key} is set but ${env[cert] ? key : cert} is not: a client certificate needs both`,
    );
  if (env[enabled] && !/^(true|false|1|0)$/.test(env[enabled]))
    throw new PatchbayError('ENVIRONMENT', `${enabled} must be true or false (got "${env[enabled]}")`);
  const on = env[enabled] === 'true' || env[enabled] === '1';
  if (!env[cert] && !env[ca] && !env[serverName] && !on) return undefined;
  const tls: TLSConfig = {};
  if (env[cert]) tls.clientCertPair = { crt: readPem(env, cert), key: readPem(env, key) };
  if (env[ca]) tls.serverRootCACertificate = readPem(env, ca);
  if (env[serverName]) tls.serverNameOverride = env[serverName];
  return tls;
}

export function temporalConfig(env: NodeJS.ProcessEnv = process.env): TemporalConfig {
  const address = env.TEMPORAL_ADDRESS || EMBEDDED_ADDRESS;
  const connection: ConnectionOptions = { address };
  const tls = tlsFromEnv(env);
  if (tls) connection.tls = tls;
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
    tlsMode: tls?.clientCertPair ? 'mtls' : connection.tls ? 'tls' : 'none',
  };
}

/** The project folder (where package.json is), for .tools and .state. */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
export const STATE_DIR = process.env.PATCHBAY_STATE_DIR || path.join(PROJECT_ROOT, '.state');
export const TEMPORAL_BIN =
  process.env.PATCHBAY_TEMPORAL_BIN || path.join(PROJECT_ROOT, '.tools', 'bin', 'temporal');
