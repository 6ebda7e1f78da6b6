// The worker's and the agents' connection to Temporal: a clear error when the server cannot be
// reached (TLS, address) or the namespace does not exist, instead of a worker that polls nothing.
import { NativeConnection } from '@temporalio/worker';
import type { TemporalConfig } from '../lib/config';
import { connectChecked } from '../lib/temporalReach';

export function connectNative(config: TemporalConfig): Promise<NativeConnection> {
  const { address, tls, apiKey } = config.connection;
  return connectChecked(config, () =>
    NativeConnection.connect({ address, tls, apiKey: typeof apiKey === 'function' ? apiKey() : apiKey }),
  );
}
