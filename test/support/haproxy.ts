// A real HAProxy (Debian's 2.6, host process) in front of fixture instances: backend "api", servers
// s1..sN, health-checked on /health, Runtime API on a unix socket. Used by tests and benches.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface FixtureHaproxy {
  socket: string;
  process: ChildProcess;
  stop(): void;
}

export interface HaproxyPlacement {
  /** Where the frontend listens (default 127.0.0.1). */
  bind?: string;
  /** Each server's address, by index (default 127.0.0.1 for all). */
  servers?: string[];
  /** Starts the process (default: here); e.g. inside a lab host's network namespace. */
  spawnWith?: (cmd: string, args: string[]) => ChildProcess;
}

export function startFixtureHaproxy(
  front: number,
  ports: number[],
  placement: HaproxyPlacement = {},
): FixtureHaproxy {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'patchbay-haproxy-'));
  const socket = path.join(dir, 'admin.sock');
  const config = path.join(dir, 'haproxy.cfg');
  writeFileSync(
    config,
    [
      'global',
      `  stats socket ${socket} mode 600 level admin`,
      '  maxconn 4000',
      'defaults',
      '  mode http',
      '  timeout connect 2s',
      '  timeout client 10s',
      '  timeout server 10s',
      '  option http-server-close',
      'frontend fe',
      `  bind ${placement.bind ?? '127.0.0.1'}:${front}`,
      '  default_backend api',
      'backend api',
      '  balance roundrobin',
      '  option httpchk GET /health',
      '  http-check expect status 200',
      ...ports.map(
        (port, i) =>
          `  server s${i + 1} ${placement.servers?.[i] ?? '127.0.0.1'}:${port} check inter 300 fall 2 rise 1`,
      ),
      '',
    ].join('\n'),
  );
  const args = ['-W', '-db', '-f', config];
  const child = placement.spawnWith
    ? placement.spawnWith('haproxy', args)
    : spawn('haproxy', args, { stdio: 'ignore' });
  return { socket, process: child, stop: () => void child.kill('SIGTERM') };
}
