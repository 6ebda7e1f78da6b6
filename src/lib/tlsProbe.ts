// gRPC reports a failed TLS handshake only as "Failed to connect before the deadline". When a
// connection to Temporal fails, one plain TLS handshake with the same settings (Node's tls) finds the
// reason operators need: a certificate the client does not trust, a name not in it, a client
// certificate the server wants, or TLS on one side only.
import net from 'node:net';
import tls from 'node:tls';
import type { TLSConfig } from '@temporalio/client';

const PROBE_MS = 3_000;
/** After the handshake, how long to wait for the server's alert (TLS 1.3 refuses a client late). */
const ALERT_MS = 300;

function hostPort(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(address.slice(at + 1)) };
}

const pem = (b: Uint8Array | undefined): Buffer | undefined => (b ? Buffer.from(b) : undefined);

/** "ERR_SSL_…: tlsv13 alert certificate required" rather than OpenSSL's whole error line. */
function describe(error: NodeJS.ErrnoException): string {
  const openssl = /SSL routines:[^:]*:([^:]+)/.exec(error.message)?.[1];
  return `${error.code ? `${error.code}: ` : ''}${openssl ?? error.message}`;
}

/** Resolves with what went wrong in a TLS handshake as `tls` would make it, or null if it went well. */
function handshake(address: string, config: TLSConfig, verify: boolean): Promise<string | null> {
  const { host, port } = hostPort(address);
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const servername = config.serverNameOverride ?? (net.isIP(host) ? undefined : host);
    const socket = tls.connect({
      host,
      port,
      servername,
      ALPNProtocols: ['h2'],
      ca: pem(config.serverRootCACertificate),
      cert: pem(config.clientCertPair?.crt),
      key: pem(config.clientCertPair?.key),
      rejectUnauthorized: verify,
      checkServerIdentity: (_name, cert) => tls.checkServerIdentity(servername ?? host, cert),
    });
    const timer = setTimeout(() => done(null), PROBE_MS);
    socket.once('secureConnect', () => setTimeout(() => done(null), ALERT_MS));
    socket.once('error', (error: NodeJS.ErrnoException) => done(describe(error)));
  });
}

/**
 * Why a connection with these settings fails at the TLS layer, in words with the variable to fix;
 * null when the handshake works (or the server is not there at all: that is not a TLS problem).
 */
export async function tlsDiagnosis(
  address: string,
  config: TLSConfig | boolean | undefined | null,
): Promise<string | null> {
  if (!config) {
    // Plaintext failed: does the server speak TLS?
    const answer = await handshake(address, {}, false);
    // A handshake, or an alert (a server that wants a client certificate), is a TLS server talking.
    const speaksTls =
      answer === null || (/alert/i.test(answer) && !/wrong version|packet length/i.test(answer));
    return speaksTls
      ? 'the server speaks TLS and the client plaintext: set TEMPORAL_TLS_CA (and TEMPORAL_TLS_CERT/TEMPORAL_TLS_KEY for mTLS), or TEMPORAL_TLS=true for a publicly signed server'
      : null;
  }
  const settings = config === true ? {} : config;
  const problem = await handshake(address, settings, true);
  if (!problem) return null;
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT/.test(problem)) return null;
  if (/ERR_TLS_CERT_ALTNAME_INVALID|altnames/.test(problem))
    return `the server's certificate does not hold the name checked (${problem}); set TEMPORAL_TLS_SERVER_NAME to a name it holds`;
  if (
    /SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY|CERT_UNTRUSTED|unknown ca|self-signed|issuer/i.test(
      problem,
    )
  )
    return `the client does not trust the server's certificate (${problem}); set TEMPORAL_TLS_CA to the CA that signed it`;
  if (/CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|expired/i.test(problem))
    return `the server's certificate is out of its validity period (${problem})`;
  if (
    /certificate required|alert number 116|handshake failure|alert number 40|bad certificate|alert number 42|unknown ca.*alert|alert number 48/i.test(
      problem,
    )
  )
    return `the server refused the client's certificate or wants one (${problem}); set TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY to a client certificate its CA signed`;
  if (/wrong version number|packet length too long|ECONNRESET|socket disconnected/i.test(problem))
    return `the TLS handshake failed (${problem}): the server may speak plaintext; unset the TEMPORAL_TLS_* settings or turn TLS on at the server`;
  return `the TLS handshake failed: ${problem}`;
}
