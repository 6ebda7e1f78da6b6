// Reaching Temporal, in Patchbay's terms: what went wrong when a connection fails (a certificate the
// client does not trust, a name not in it, a client certificate the server refused, nothing
// listening), and whether the namespace exists. The CLI, the worker and the agents say the same.
import { isGrpcServiceError } from '@temporalio/client';
import type { TemporalConfig } from './config';
import { TLS_ENV } from './config';
import { PatchbayError } from './errors';
import { tlsDiagnosis } from './tlsProbe';

/** gRPC status codes (@grpc/grpc-js status). */
const NOT_FOUND = 5;
const PERMISSION_DENIED = 7;
const UNAUTHENTICATED = 16;

const TRUST_HINT = `set ${TLS_ENV.ca} to the CA that signed the server's certificate`;
const NAME_HINT = `set ${TLS_ENV.serverName} to a name the server's certificate holds`;
const CLIENT_CERT_HINT = `set ${TLS_ENV.cert} and ${TLS_ENV.key} to a client certificate the server's CA signed`;

/** Why the TLS handshake failed, from the message gRPC (Node or Rust core) gives, if it is one. */
export function tlsProblem(message: string): string | null {
  const m = message.toLowerCase();
  if (/altname|does not match certificate|not valid for name|certnotvalidforname|hostname/.test(m))
    return `the server's certificate does not hold the name the client checked; ${NAME_HINT}`;
  if (
    /self[- ]signed|unable to get (local )?issuer|unknownissuer|unknown ?ca|certificate verify failed|invalid peer certificate|bad ?certificate/.test(
      m,
    )
  )
    return `the client does not trust the server's certificate; ${TRUST_HINT}`;
  if (/certificate required|certificaterequired|handshake failure|peer sent no certificates|alert/.test(m))
    return `the server refused the TLS handshake (it may require a client certificate); ${CLIENT_CERT_HINT}`;
  if (/wrong version number|packet length too long|http2 frame|tls|ssl/.test(m))
    return 'TLS on one side only: the server speaks plaintext and the client TLS, or the other way round';
  return null;
}

/**
 * A failed connection attempt as the PatchbayError operators read (ENVIRONMENT, exit 1). When gRPC's
 * message does not say why, one TLS handshake with the same settings does (./tlsProbe.ts).
 */
export async function connectError(config: TemporalConfig, error: unknown): Promise<PatchbayError> {
  const message = (error as Error)?.message ?? String(error);
  const tls =
    tlsProblem(message) ?? (await tlsDiagnosis(config.address, config.connection.tls).catch(() => null));
  const hint = tls
    ? tls
    : config.embedded
      ? 'start the embedded stack with "npx patchbay dev" (or set TEMPORAL_ADDRESS to your cluster)'
      : 'check TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and the TLS/API key settings (patchbay doctor says what it reached)';
  return new PatchbayError(
    'ENVIRONMENT',
    `cannot reach Temporal at ${config.address} (${config.tlsMode === 'none' ? 'plaintext' : config.tlsMode}): ${message}; ${hint}`,
    { address: config.address, tls: config.tlsMode },
  );
}

interface DescribesNamespaces {
  workflowService: {
    describeNamespace(request: { namespace: string }): Promise<unknown>;
  };
}

/**
 * Refuses a namespace the server does not have, with the command that creates it. A caller the
 * server does not let describe namespaces (a restricted API key) is let through: the first real call
 * says what is wrong.
 */
export async function assertNamespace(
  connection: DescribesNamespaces,
  config: TemporalConfig,
): Promise<void> {
  try {
    await connection.workflowService.describeNamespace({ namespace: config.namespace });
  } catch (error) {
    if (isGrpcServiceError(error) && error.code === NOT_FOUND)
      throw new PatchbayError(
        'ENVIRONMENT',
        `namespace "${config.namespace}" does not exist on Temporal at ${config.address}; set TEMPORAL_NAMESPACE, ` +
          `or create it: temporal operator namespace create --namespace ${config.namespace}`,
        { address: config.address, namespace: config.namespace },
      );
    if (isGrpcServiceError(error) && (error.code === PERMISSION_DENIED || error.code === UNAUTHENTICATED))
      return;
    throw await connectError(config, error);
  }
}

/**
 * Connects (the client's Connection or the worker's NativeConnection) and checks the namespace: a
 * failure is the PatchbayError that says what to fix, and a connection that fails the check is closed.
 */
export async function connectChecked<C extends DescribesNamespaces & { close(): Promise<void> }>(
  config: TemporalConfig,
  connect: () => Promise<C>,
): Promise<C> {
  let connection: C;
  try {
    connection = await connect();
  } catch (error) {
    throw await connectError(config, error);
  }
  try {
    await assertNamespace(connection, config);
  } catch (error) {
    await connection.close();
    throw error;
  }
  return connection;
}
