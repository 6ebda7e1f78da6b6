// TLS to Temporal from the environment: what each variable sets, and the errors for half-given or
// unreadable settings (they name the variable and the file).
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TLSConfig } from '@temporalio/client';
import { temporalConfig } from '../../src/lib/config';
import { PatchbayError } from '../../src/lib/errors';
import { connectError, tlsProblem } from '../../src/lib/temporalReach';

const dir = mkdtempSync(path.join(os.tmpdir(), 'patchbay-config-'));
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};
const ca = file('ca.crt', 'CA PEM');
const crt = file('client.crt', 'CLIENT PEM');
const key = file('client.key', 'KEY PEM');
const base = { TEMPORAL_ADDRESS: '127.0.0.1:7233' };

function errorOf(fn: () => unknown): PatchbayError {
  try {
    fn();
  } catch (error) {
    if (error instanceof PatchbayError) return error;
    throw error;
  }
  throw new Error('expected a PatchbayError');
}

test('no TLS variable: plaintext', () => {
  const config = temporalConfig(base);
  expect(config.connection.tls).toBeUndefined();
  expect(config.tlsMode).toBe('none');
});

test('mTLS with a private CA and a server name', () => {
  const config = temporalConfig({
    ...base,
    TEMPORAL_TLS_CERT: crt,
    TEMPORAL_TLS_KEY: key,
    TEMPORAL_TLS_CA: ca,
    TEMPORAL_TLS_SERVER_NAME: 'temporal-frontend',
  });
  const tls = config.connection.tls as TLSConfig;
  expect(tls.clientCertPair?.crt.toString()).toBe('CLIENT PEM');
  expect(tls.clientCertPair?.key.toString()).toBe('KEY PEM');
  expect(tls.serverRootCACertificate?.toString()).toBe('CA PEM');
  expect(tls.serverNameOverride).toBe('temporal-frontend');
  expect(config.tlsMode).toBe('mtls');
});

test('server-only TLS: a CA alone, or TEMPORAL_TLS=true with the system CAs', () => {
  const withCa = temporalConfig({ ...base, TEMPORAL_TLS_CA: ca });
  expect((withCa.connection.tls as TLSConfig).clientCertPair).toBeUndefined();
  expect(withCa.tlsMode).toBe('tls');
  const system = temporalConfig({ ...base, TEMPORAL_TLS: 'true' });
  expect(system.connection.tls).toEqual({});
  expect(system.tlsMode).toBe('tls');
  expect(temporalConfig({ ...base, TEMPORAL_TLS: 'false' }).tlsMode).toBe('none');
});

test('a certificate without its key, an unreadable file or a bad TEMPORAL_TLS is refused by name', () => {
  expect(errorOf(() => temporalConfig({ ...base, TEMPORAL_TLS_CERT: crt })).message).toBe(
    'TEMPORAL_TLS_CERT is set but TEMPORAL_TLS_KEY is not: a client certificate needs both',
  );
  expect(errorOf(() => temporalConfig({ ...base, TEMPORAL_TLS_KEY: key })).message).toMatch(
    /^TEMPORAL_TLS_KEY is set but TEMPORAL_TLS_CERT is not/,
  );
  const missing = errorOf(() => temporalConfig({ ...base, TEMPORAL_TLS_CA: path.join(dir, 'nope.crt') }));
  expect(missing.code).toBe('ENVIRONMENT');
  expect(missing.message).toBe(`TEMPORAL_TLS_CA=${path.join(dir, 'nope.crt')}: cannot read it (ENOENT)`);
  expect(errorOf(() => temporalConfig({ ...base, TEMPORAL_TLS: 'yes' })).message).toBe(
    'TEMPORAL_TLS must be true or false (got "yes")',
  );
});

test('TLS handshake failures are told apart from an unreachable server', async () => {
  expect(
    tlsProblem("Hostname/IP does not match certificate's altnames: Host: x. is not in the cert's altnames"),
  ).toMatch(/TEMPORAL_TLS_SERVER_NAME/);
  expect(tlsProblem('unable to get local issuer certificate')).toMatch(/TEMPORAL_TLS_CA/);
  expect(tlsProblem('self-signed certificate in certificate chain')).toMatch(/TEMPORAL_TLS_CA/);
  expect(
    tlsProblem('14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1'),
  ).toBeNull();
  const config = temporalConfig(base);
  const refused = await connectError(config, new Error('connect ECONNREFUSED 127.0.0.1:7233'));
  expect(refused.code).toBe('ENVIRONMENT');
  expect(refused.message).toMatch(
    /^cannot reach Temporal at 127\.0\.0\.1:7233 \(plaintext\): connect ECONNREFUSED/,
  );
  expect(refused.message).toMatch(/patchbay doctor/);
});
