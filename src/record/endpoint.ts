// A Docker host's endpoint taken apart: a unix socket, tcp://host:port (with TLS, or plain when the
// record says insecure) or ssh://user@host[:port]. Pure (no Node builtins): validation runs in
// workflow update validators too; the worker's Docker client (src/runtime/dockerClient.ts) uses it
// to build the connection.
import { REDACTED } from './zodIssues';

export type DockerEndpoint =
  | { kind: 'unix'; socketPath: string }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'ssh'; user: string; host: string; port: number };

export type EndpointKind = DockerEndpoint['kind'];

/** The port Docker's TLS endpoints use by convention (2375 is the plain one). */
export const DOCKER_TLS_PORT = 2376;

const HOST = String.raw`(\[[0-9A-Fa-f:.]+\]|[^/@:[\]]+)`;
const TCP = new RegExp(String.raw`^tcp://${HOST}:(\d+)$`);
const SSH = new RegExp(String.raw`^ssh://([^/@:]+)@${HOST}(?::(\d+))?$`);

/** "[::1]" → "::1": the form sockets and TLS name checks want. */
function bare(host: string): string {
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

/**
 * The endpoint taken apart, or why it cannot be (the message completes "endpoint …"). The zod
 * schema accepts a looser shape (it must keep accepting every record it ever accepted, for
 * replays); this is the exact one.
 */
export function parseDockerEndpoint(endpoint: string): DockerEndpoint | { error: string } {
  if (endpoint.startsWith('unix://')) {
    const socketPath = endpoint.slice('unix://'.length);
    return socketPath.startsWith('/') && socketPath.length > 1
      ? { kind: 'unix', socketPath }
      : { error: 'must be unix:///absolute/path/to/docker.sock' };
  }
  if (endpoint.startsWith('tcp://')) {
    const m = TCP.exec(endpoint);
    if (!m) return { error: 'must be tcp://host:port (no user, no path)' };
    const port = Number(m[2]);
    if (!(port >= 1 && port <= 65535)) return { error: `port ${m[2]} is not between 1 and 65535` };
    return { kind: 'tcp', host: bare(m[1] as string), port };
  }
  if (endpoint.startsWith('ssh://')) {
    if (/^ssh:\/\/[^/@]*:[^/@]*@/.test(endpoint))
      return {
        error:
          'must not carry a password (it would be stored in every revision and workflow history); give sshKey or use an ssh-agent',
      };
    const m = SSH.exec(endpoint);
    if (!m) return { error: 'must be ssh://user@host or ssh://user@host:port (no path)' };
    const port = m[3] === undefined ? 22 : Number(m[3]);
    if (!(port >= 1 && port <= 65535)) return { error: `port ${m[3]} is not between 1 and 65535` };
    return { kind: 'ssh', user: m[1] as string, host: bare(m[2] as string), port };
  }
  return { error: 'must be unix:///path/to/docker.sock, tcp://host:port or ssh://user@host[:port]' };
}

/** The endpoint-related fields of a host (src/record/schema.ts DockerHost). */
export interface EndpointFields {
  endpoint: string;
  tls?: { ca: string; cert: string; key: string } | undefined;
  insecure?: boolean | undefined;
  sshKey?: string | undefined;
  sshKnownHosts?: string | undefined;
}

/** One problem with a host's endpoint settings: the field it is about, and what is wrong. */
export interface EndpointProblem {
  field: keyof EndpointFields;
  message: string;
  /** What to show instead of the field's value (a password in it masked). */
  shown?: string;
}

/** What is wrong with a host's endpoint and the settings that go with it (empty: nothing). */
export function endpointProblems(host: EndpointFields & { name: string }): EndpointProblem[] {
  const parsed = parseDockerEndpoint(host.endpoint);
  if ('error' in parsed) {
    const shown = host.endpoint.replace(/^(ssh:\/\/[^/@:]*):[^/@]*@/, `$1:${REDACTED}@`);
    return [{ field: 'endpoint', message: parsed.error, ...(shown !== host.endpoint ? { shown } : {}) }];
  }
  const problems: EndpointProblem[] = [];
  const onlyFor = (field: keyof EndpointFields, kind: string, why: string): void => {
    if (host[field] !== undefined)
      problems.push({
        field,
        message: `${field} is for ${kind} endpoints only (this one is ${parsed.kind}://); ${why}`,
      });
  };
  if (parsed.kind !== 'tcp') {
    const why =
      parsed.kind === 'unix'
        ? 'a unix socket is guarded by its file permissions'
        : 'ssh encrypts and authenticates';
    onlyFor('tls', 'tcp://', `${why}: leave it out`);
    onlyFor('insecure', 'tcp://', `${why}: leave it out`);
  }
  if (parsed.kind !== 'ssh') {
    onlyFor('sshKey', 'ssh://', 'leave it out');
    onlyFor('sshKnownHosts', 'ssh://', 'leave it out');
  }
  if (parsed.kind === 'tcp') {
    if (host.tls && host.insecure === true) {
      problems.push({
        field: 'insecure',
        message: 'insecure: true contradicts tls (the endpoint uses TLS): leave insecure out',
      });
    } else if (!host.tls && host.insecure !== true) {
      problems.push({
        field: 'endpoint',
        message:
          `plain tcp:// without tls: anyone who reaches ${parsed.host}:${parsed.port} is root on host "${host.name}" ` +
          `(the Docker API has no authentication of its own); give tls { ca, cert, key } for an engine started with ` +
          `--tlsverify (usually on port ${DOCKER_TLS_PORT}; Docker's "Protect the Docker daemon socket"), ` +
          'or set insecure: true if an unprotected endpoint is really meant',
      });
    }
  }
  return problems;
}
