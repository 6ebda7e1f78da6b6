// One dockerode client per Docker endpoint named in a record and the settings that go with it: a unix
// socket, tcp:// with TLS (Docker's --tlsverify: the files are read here, at the edge, when the client
// is built; the record only names them), plain tcp:// (only when the record says insecure), or
// ssh://user@host[:port] (docker-modem runs `docker system dial-stdio` on the host over ssh2; the
// host's key is checked against a known_hosts file).
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import Docker from 'dockerode';
import { PatchbayError } from '../lib/errors';
import { parseDockerEndpoint, type DockerEndpoint } from '../record/endpoint';
import type { DockerHostSpec } from '../record/schema';

/** What a client is built from: a host's name (for messages) and its endpoint settings. */
export type DockerEndpointSettings = Pick<DockerHostSpec, 'name' | 'endpoint'> &
  Partial<Pick<DockerHostSpec, 'tls' | 'insecure' | 'sshKey' | 'sshKnownHosts'>>;

/** Default per-call timeout: a hung engine must fail an activity, not stall it forever. */
const API_TIMEOUT_MS = 30_000;
/** How long an ssh connection may take to be ready (TCP, key exchange, authentication). */
const SSH_READY_TIMEOUT_MS = 10_000;

interface Entry {
  docker: Docker;
  endpoint: DockerEndpoint;
  settings: DockerEndpointSettings;
  /** Why the last ssh connection refused the host's key, for unreachableReason. */
  hostKeyProblem?: string;
}

const clients = new Map<string, Entry>();

/** Everything a client depends on: two hosts with the same settings share one client. */
function cacheKey(s: DockerEndpointSettings): string {
  return JSON.stringify([
    s.endpoint,
    s.tls?.ca,
    s.tls?.cert,
    s.tls?.key,
    s.insecure,
    s.sshKey,
    s.sshKnownHosts,
  ]);
}

/** A client for a bare endpoint (unix socket or plain tcp), e.g. the local engine. */
export function dockerClient(endpoint: string): Docker {
  return dockerForHost({ name: endpoint, endpoint });
}

/**
 * The client for a host of a record. Builds it on first use, reading the TLS files, ssh key and
 * known_hosts then; a file that cannot be read is a PREFLIGHT_FAILED PatchbayError naming the host
 * and the path (and nothing is cached, so a fixed file is read on the next call).
 */
export function dockerForHost(host: DockerEndpointSettings): Docker {
  return entryFor(host).docker;
}

function entryFor(host: DockerEndpointSettings): Entry {
  const key = cacheKey(host);
  let entry = clients.get(key);
  if (!entry) {
    entry = buildEntry(host);
    clients.set(key, entry);
  }
  return entry;
}

/** Options that must not come from DOCKER_HOST, DOCKER_CERT_PATH… (docker-modem reads those as defaults). */
const NO_ENV_DEFAULTS = {
  socketPath: undefined,
  host: undefined,
  port: undefined,
  protocol: undefined,
  ca: undefined,
  cert: undefined,
  key: undefined,
  username: undefined,
} as const;

function buildEntry(host: DockerEndpointSettings): Entry {
  const endpoint = parseDockerEndpoint(host.endpoint);
  if ('error' in endpoint) {
    throw unusable(host, `endpoint ${endpoint.error}`, { field: 'endpoint' });
  }
  const common = { ...NO_ENV_DEFAULTS, timeout: API_TIMEOUT_MS };
  if (endpoint.kind === 'unix') {
    return { endpoint, settings: host, docker: new Docker({ ...common, socketPath: endpoint.socketPath }) };
  }
  if (endpoint.kind === 'tcp') {
    if (!host.tls) {
      const docker = new Docker({ ...common, host: endpoint.host, port: endpoint.port, protocol: 'http' });
      return { endpoint, settings: host, docker };
    }
    const ca = readSetting(host, 'tls.ca', host.tls.ca);
    const cert = readSetting(host, 'tls.cert', host.tls.cert);
    const key = readSetting(host, 'tls.key', host.tls.key);
    try {
      tls.createSecureContext({ ca, cert, key }); // unusable PEM, or a key that is not the cert's
    } catch (error) {
      throw unusable(
        host,
        `tls files ${host.tls.cert} and ${host.tls.key} (ca ${host.tls.ca}) are not a usable client identity: ${errorText(error)}`,
        { field: 'tls' },
      );
    }
    const docker = new Docker({
      ...common,
      host: endpoint.host,
      port: endpoint.port,
      protocol: 'https',
      ca,
      cert,
      key,
    });
    return { endpoint, settings: host, docker };
  }
  return sshEntry(host, endpoint, common);
}

function sshEntry(
  host: DockerEndpointSettings,
  endpoint: Extract<DockerEndpoint, { kind: 'ssh' }>,
  common: typeof NO_ENV_DEFAULTS & { timeout: number },
): Entry {
  const privateKey = host.sshKey ? readSetting(host, 'sshKey', host.sshKey) : undefined;
  const agent = process.env.SSH_AUTH_SOCK || undefined;
  if (!privateKey && !agent) {
    throw unusable(
      host,
      'ssh needs a key: give sshKey, or run the worker (or agent) with an ssh-agent (SSH_AUTH_SOCK)',
      {
        field: 'sshKey',
      },
    );
  }
  const knownHostsPath =
    host.sshKnownHosts ?? path.join(process.env.HOME || os.homedir(), '.ssh', 'known_hosts');
  const knownHosts = parseKnownHosts(
    readSetting(
      host,
      host.sshKnownHosts ? 'sshKnownHosts' : 'known_hosts',
      knownHostsPath,
      host.sshKnownHosts ? '' : ' (the default when the record gives no sshKnownHosts)',
    ).toString('utf8'),
  );
  const lookupName = endpoint.port === 22 ? endpoint.host : `[${endpoint.host}]:${endpoint.port}`;
  const entry: Entry = { endpoint, settings: host, docker: undefined as unknown as Docker };
  const hostVerifier = (blob: Buffer): boolean => {
    const verdict = checkHostKey(knownHosts, lookupName, blob);
    entry.hostKeyProblem =
      verdict === 'listed'
        ? undefined
        : verdict === 'revoked'
          ? `ssh: the key of ${lookupName} is marked @revoked in ${knownHostsPath}`
          : verdict === 'mismatch'
            ? `ssh: the key of ${lookupName} does not match the one in ${knownHostsPath} (another machine answers, or the host's key changed; check before you update the file)`
            : `ssh: ${lookupName} is not in ${knownHostsPath}; add its key (ssh-keyscan${endpoint.port === 22 ? '' : ` -p ${endpoint.port}`} ${endpoint.host}, checked out of band)${host.sshKnownHosts ? '' : ' or set sshKnownHosts'}`;
    return verdict === 'listed';
  };
  entry.docker = new Docker({
    ...common,
    // docker-modem sets a request timeout on the connection's socket, which over ssh is an ssh2
    // channel without setTimeout ("sock.setTimeout is not a function"): no per-call timeout here;
    // readyTimeout bounds connecting, activity timeouts bound the calls.
    timeout: undefined,
    protocol: 'ssh',
    host: endpoint.host,
    port: endpoint.port,
    username: endpoint.user,
    sshOptions: {
      ...(privateKey ? { privateKey } : { agent }),
      readyTimeout: SSH_READY_TIMEOUT_MS,
      hostVerifier,
    },
  });
  return entry;
}

function readSetting(host: DockerEndpointSettings, what: string, file: string, note = ''): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'a directory, not a file'
            : errorText(error);
    throw unusable(host, `cannot read ${what} ${file}${note}: ${why}`, { field: what, path: file });
  }
}

/** A client that cannot be built: what is wrong is in `details.reason` (the message also names the host). */
function unusable(
  host: DockerEndpointSettings,
  reason: string,
  details: Record<string, unknown>,
): PatchbayError {
  return new PatchbayError('PREFLIGHT_FAILED', `host ${host.name} (${host.endpoint}): ${reason}`, {
    host: host.name,
    endpoint: host.endpoint,
    reason,
    ...details,
  });
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// --- known_hosts (OpenSSH's format: plain, wildcard and hashed host names, @revoked) ------------

interface KnownHost {
  marker?: string;
  patterns: string[];
  key: Buffer;
}

function parseKnownHosts(text: string): KnownHost[] {
  const entries: KnownHost[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    const marker = fields[0]?.startsWith('@') ? fields.shift() : undefined;
    const [hosts, , key] = fields;
    if (!hosts || !key) continue;
    entries.push({ marker, patterns: hosts.split(','), key: Buffer.from(key, 'base64') });
  }
  return entries;
}

function patternMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [salt, hash] = pattern.slice(3).split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return re.test(name);
}

function hostMatches(entry: KnownHost, name: string): boolean {
  let matched = false;
  for (const pattern of entry.patterns) {
    if (pattern.startsWith('!')) {
      if (patternMatches(pattern.slice(1), name)) return false;
    } else if (patternMatches(pattern, name)) matched = true;
  }
  return matched;
}

function checkHostKey(
  entries: KnownHost[],
  name: string,
  blob: Buffer,
): 'listed' | 'revoked' | 'mismatch' | 'unknown' {
  const forHost = entries.filter((e) => e.marker !== '@cert-authority' && hostMatches(e, name));
  if (entries.some((e) => e.marker === '@revoked' && e.key.equals(blob))) return 'revoked';
  if (forHost.some((e) => e.marker === undefined && e.key.equals(blob))) return 'listed';
  return forHost.length > 0 ? 'mismatch' : 'unknown';
}

// --- errors ------------------------------------------------------------------------------------

/** dockerode errors carry the HTTP status of the engine's answer. */
export function dockerStatus(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

const UNKNOWN_AUTHORITY = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
]);

/** Why a call to a host's engine failed, for operators: TLS and ssh problems in words. */
export function describeDockerError(host: DockerEndpointSettings, error: unknown): string {
  if (error instanceof PatchbayError && typeof error.details.reason === 'string') return error.details.reason;
  const e = (error ?? {}) as { code?: unknown; message?: unknown; reason?: unknown; level?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const message = (typeof e.message === 'string' ? e.message : String(error)).trim();
  /** OpenSSL's alert in words ("bad certificate"), not its whole error line. */
  const alert = /alert ([a-z ]+?)(:|$)/i.exec(message)?.[1] ?? code;
  const entry = clients.get(cacheKey(host));
  const target =
    entry && entry.endpoint.kind !== 'unix' ? `${entry.endpoint.host}:${entry.endpoint.port}` : host.endpoint;

  if (UNKNOWN_AUTHORITY.has(code))
    return `TLS: certificate signed by unknown authority (the engine's certificate is not signed by tls.ca ${host.tls?.ca ?? ''}; ${message})`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return `TLS: the engine's certificate is not valid for ${target} (${typeof e.reason === 'string' ? e.reason : message})`;
  if (code === 'CERT_HAS_EXPIRED') return "TLS: the engine's certificate has expired";
  if (code === 'CERT_NOT_YET_VALID')
    return "TLS: the engine's certificate is not valid yet (check both clocks)";
  if (
    /ALERT_(BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_REQUIRED|CERTIFICATE_UNKNOWN|ACCESS_DENIED|DECRYPT_ERROR)/.test(
      code,
    ) ||
    /alert (bad certificate|unknown ca|certificate required)/i.test(message)
  )
    return `TLS: the engine refused our client certificate (tls.cert ${host.tls?.cert ?? ''} is not signed by a CA the engine trusts, its --tlscacert; it answered "${alert}")`;
  if (/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG/.test(code) || /wrong version number/.test(message))
    return `TLS: ${target} does not speak TLS (a plain tcp:// engine?; ${message})`;
  if (dockerStatus(error) === 400 && /HTTP request to an HTTPS server/i.test(message))
    return `${target} speaks TLS but host ${host.name} has no tls settings: give tls { ca, cert, key }`;
  if (entry?.endpoint.kind === 'ssh') {
    const user = `${entry.endpoint.user}@${target}`;
    if (/Host denied/.test(message) && entry.hostKeyProblem) return entry.hostKeyProblem;
    if (/All configured authentication methods failed/.test(message))
      return `ssh: ${user} refused ${host.sshKey ? `the key ${host.sshKey}` : "the ssh-agent's keys"} (is its public key in the user's authorized_keys?)`;
    if (/Cannot parse privateKey|Encrypted private OpenSSH key|privateKey value/.test(message))
      return `ssh: sshKey ${host.sshKey ?? ''} cannot be used (${message}); give an unencrypted private key or use an ssh-agent`;
    if (e.level === 'client-timeout')
      return `ssh: no ssh handshake with ${target} within ${SSH_READY_TIMEOUT_MS / 1000} s`;
    if (/socket hang up/.test(message))
      return `ssh: ${user} accepted the key but \`docker system dial-stdio\` did not answer (is the docker CLI installed there, and may the user use the engine?)`;
    return `ssh: ${message}`;
  }
  return message;
}

/** Pings an engine with a short timeout; returns the reason it is unreachable, or undefined. */
export async function unreachableReason(
  host: DockerEndpointSettings,
  timeoutMs = 5_000,
): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      dockerForHost(host).ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        timer.unref();
      }),
    ]);
    return undefined;
  } catch (error) {
    return describeDockerError(host, error);
  } finally {
    clearTimeout(timer);
  }
}

/** A container by name or id, or null when it does not exist. */
export async function inspectOrNull(
  docker: Docker,
  name: string,
): Promise<Docker.ContainerInspectInfo | null> {
  try {
    return await docker.getContainer(name).inspect();
  } catch (error) {
    if (dockerStatus(error) === 404) return null;
    throw error;
  }
}
