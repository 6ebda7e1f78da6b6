// The worker's and the agents' connection to Temporal: a clear error when the server cannot be
// reached (TLS, address) or the namespace does not exist, instead of a worker that polls nothing.
import { NativeConnection } from '@temporalio/worker';
import type { TemporalConfig } from '../lib/config';
import { assertNamespace, connectError } from '../lib/temporalReach';

export async function connectNative(config: TemporalConfig): Promise<NativeConnection> {
  const { address, tls, apiKey } = config.connection;
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect({
      address,
      tls,
      apiKey: typeof apiKey === 'function' ? apiKey() : apiKey,
    });
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
