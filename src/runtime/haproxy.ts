// HAProxy's Runtime API (a stats socket at level admin): one command per connection, answer until EOF.
import net from 'node:net';

export function runtimeApiCommand(endpoint: string, command: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = endpoint.startsWith('unix://')
      ? net.connect({ path: endpoint.slice('unix://'.length) })
      : net.connect({
          host: new URL(endpoint.replace(/^tcp:/, 'http:')).hostname,
          port: Number(new URL(endpoint.replace(/^tcp:/, 'http:')).port),
        });
    let answer = '';
    socket.setTimeout(timeoutMs, () =>
      socket.destroy(
        new Error(`HAProxy Runtime API at ${endpoint} did not answer "${command}" within ${timeoutMs} ms`),
      ),
    );
    socket.on('data', (chunk) => (answer += chunk.toString('utf8')));
    socket.once('end', () => resolve(answer));
    socket.once('error', (error) =>
      reject(new Error(`HAProxy Runtime API at ${endpoint}: ${error.message}`)),
    );
    socket.once('connect', () => socket.write(`${command}\n`));
  });
}

export interface ServerStat {
  backend: string;
  server: string;
  /** Current sessions (column 5 of `show stat`). */
  sessions: number;
  /** UP, DOWN, DRAIN, MAINT, "no check"… */
  status: string;
}

/** Parses `show stat` CSV ("# pxname,svname,qcur,qmax,scur,…,status,…"). */
export function parseShowStat(csv: string): ServerStat[] {
  const lines = csv.split('\n').filter((l) => l.trim() !== '');
  const header = lines[0]?.replace(/^#\s*/, '').split(',') ?? [];
  const col = (name: string) => header.indexOf(name);
  const [px, sv, scur, status] = [col('pxname'), col('svname'), col('scur'), col('status')];
  return lines
    .slice(1)
    .map((line) => line.split(','))
    .filter((f) => f[sv] !== 'FRONTEND' && f[sv] !== 'BACKEND')
    .map((f) => ({
      backend: f[px] ?? '',
      server: f[sv] ?? '',
      sessions: Number(f[scur] ?? 0),
      status: f[status] ?? '',
    }));
}

/** `set server` answers nothing on success and a sentence on failure ("No such server."). */
export async function setServerState(
  endpoint: string,
  backend: string,
  server: string,
  state: 'ready' | 'drain' | 'maint',
): Promise<void> {
  const answer = (await runtimeApiCommand(endpoint, `set server ${backend}/${server} state ${state}`)).trim();
  if (answer !== '')
    throw new Error(`HAProxy refused "set server ${backend}/${server} state ${state}": ${answer}`);
}

export async function serverStat(endpoint: string, backend: string, server: string): Promise<ServerStat> {
  const stats = parseShowStat(await runtimeApiCommand(endpoint, 'show stat'));
  const found = stats.find((s) => s.backend === backend && s.server === server);
  if (!found) throw new Error(`HAProxy at ${endpoint} has no server ${backend}/${server}`);
  return found;
}
