// Direct Docker endpoints other than the local socket, against real engines on loopback only:
// - tcp:// with TLS: a SECOND dockerd started here (own data-root, exec-root, pidfile and sockets;
//   a bridge of its own, no iptables: it leaves the main engine alone) with --tlsverify on 127.0.0.1 and
//   certificates made here with openssl (a CA, its server and client certificates, and a second CA
//   with a client certificate the engine must refuse);
// - ssh://: an sshd started here on 127.0.0.1 (own config, host key and authorized key); its
//   `docker system dial-stdio` reaches the main engine.
// Everything started here is stopped in afterAll, by pid, within bounded time.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { MockActivityEnvironment } from '@temporalio/testing';
import type Docker from 'dockerode';
import { createDockerActivities } from '../../src/activities/dockerActivities';
import { PatchbayError } from '../../src/lib/errors';
import { CloudRecordSchema, type DockerHostSpec, type ServiceSpec } from '../../src/record/schema';
import { validateRecord } from '../../src/record/validate';
import { dockerClient, dockerForHost, unreachableReason } from '../../src/runtime/dockerClient';
import { FIXTURE } from '../support/fixtures';
import { freePort } from '../support/freePort';
import { fixtureRecord } from '../support/harness';

jest.setTimeout(60_000);

const exec = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `ready` every 200 ms until it is true or `ms` have passed. */
async function waitFor(
  what: string,
  ms: number,
  ready: () => Promise<boolean>,
  log?: () => string,
): Promise<void> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < Math.ceil(ms / 200) + 1 && Date.now() < deadline; i++) {
    if (await ready().catch(() => false)) return;
    await sleep(200);
  }
  throw new Error(`${what} not ready within ${ms} ms${log ? `:\n${log().slice(-3000)}` : ''}`);
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
    socket.setTimeout(1_000, () => {
      socket.destroy();
      resolve(false);
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, up to `ms` for it to go, then SIGKILL. */
async function stopPid(pid: number | undefined, ms: number): Promise<void> {
  if (!pid || !alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + ms;
  for (let i = 0; i < ms / 100 + 1 && Date.now() < deadline && alive(pid); i++) await sleep(100);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

let dir: string;
const children: ChildProcess[] = [];
const logOf = (name: string) => (): string => {
  try {
    return readFileSync(path.join(dir, name), 'utf8');
  } catch {
    return '';
  }
};

/** Starts a process of ours, its output to a log file in `dir`. */
function start(cmd: string, args: string[], log: string): ChildProcess {
  const fd = openSync(path.join(dir, log), 'a');
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd] });
  children.push(child);
  return child;
}

// --- certificates ----------------------------------------------------------------------------

async function openssl(...args: string[]): Promise<void> {
  await exec('openssl', args, { cwd: dir, timeout: 20_000 });
}

async function makeCa(name: string): Promise<void> {
  await openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=patchbay test ${name}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
  );
}

/** A key and a certificate signed by `ca`, with the given X.509 extensions. */
async function makeCert(name: string, ca: string, extensions: string): Promise<void> {
  writeFileSync(path.join(dir, `${name}.ext`), extensions);
  await openssl(
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
  );
  await openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.pem`,
  );
}

// --- the second engine (TLS) and sshd ---------------------------------------------------------

let tlsPort: number;
let sshPort: number;
let dockerd: ChildProcess | undefined;
let sshd: ChildProcess | undefined;
/** The second engine through its own unix socket: which engine answers, seen from the inside. */
let second: Docker;
const main = dockerClient('unix:///var/run/docker.sock');

/**
 * The second engine's own bridge. With `--bridge none` dockerd deletes the interface docker0 at
 * start, and this engine shares the main engine's network namespace: that would take docker0 from
 * the main engine (containers on its default network then fail to start). A bridge of its own,
 * made here and removed after, leaves docker0 alone.
 */
const BRIDGE = 'pbtls0';

async function startSecondEngine(): Promise<void> {
  await exec('ip', ['link', 'del', BRIDGE]).catch(() => undefined);
  await exec('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
  await exec('ip', ['addr', 'add', '10.78.0.1/24', 'dev', BRIDGE]);
  writeFileSync(path.join(dir, 'daemon.json'), '{}'); // not /etc/docker/daemon.json
  const p = (name: string): string => path.join(dir, name);
  dockerd = start(
    'dockerd',
    [
      '--config-file',
      p('daemon.json'),
      '--data-root',
      p('data'),
      '--exec-root',
      p('exec'),
      '--pidfile',
      p('dockerd.pid'),
      '--host',
      `unix://${p('docker.sock')}`,
      '--host',
      `tcp://127.0.0.1:${tlsPort}`,
      '--tlsverify',
      '--tlscacert',
      p('ca.pem'),
      '--tlscert',
      p('server.pem'),
      '--tlskey',
      p('server.key'),
      '--bridge',
      BRIDGE,
      '--iptables=false',
      '--ip-masq=false',
      '--ip6tables=false',
      '--ip-forward=false',
      '--userland-proxy=false',
      '--shutdown-timeout',
      '3',
      '--log-level',
      'warn',
    ],
    'dockerd.log',
  );
  second = dockerClient(`unix://${p('docker.sock')}`);
  await waitFor(
    'second dockerd',
    30_000,
    async () => (await second.ping()).toString() === 'OK',
    logOf('dockerd.log'),
  );
}

async function startSshd(): Promise<void> {
  const p = (name: string): string => path.join(dir, name);
  await Promise.all(
    ['ssh_host_ed25519_key', 'id_ed25519', 'wrong_ed25519', 'nodocker_ed25519', 'other_host_key'].map(
      (name) =>
        exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', p(name)], { timeout: 20_000 }),
    ),
  );
  // The second key logs in, but its command fails as a host without the docker CLI would.
  writeFileSync(
    p('authorized_keys'),
    `${readFileSync(p('id_ed25519.pub'), 'utf8')}command="exit 127" ${readFileSync(p('nodocker_ed25519.pub'), 'utf8')}`,
  );
  const hostKey = readFileSync(p('ssh_host_ed25519_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
  const otherKey = readFileSync(p('other_host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
  writeFileSync(p('known_hosts'), `[127.0.0.1]:${sshPort} ${hostKey}\n`);
  writeFileSync(p('known_hosts.other'), `[127.0.0.1]:${sshPort} ${otherKey}\n`);
  writeFileSync(p('known_hosts.elsewhere'), `[127.0.0.2]:${sshPort} ${hostKey}\n`);
  writeFileSync(p('known_hosts.hashed'), `[127.0.0.1]:${sshPort} ${hostKey}\n`);
  await exec('ssh-keygen', ['-q', '-H', '-f', p('known_hosts.hashed')], { timeout: 20_000 }); // |1|salt|hash
  writeFileSync(
    p('sshd_config'),
    [
      `Port ${sshPort}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${p('ssh_host_ed25519_key')}`,
      `PidFile ${p('sshd.pid')}`,
      `AuthorizedKeysFile ${p('authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no', // the files live under /tmp, which is world-writable (sticky)
      '',
    ].join('\n'),
  );
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege separation directory
  sshd = start('/usr/sbin/sshd', ['-D', '-e', '-f', p('sshd_config')], 'sshd.log');
  await waitFor('sshd', 10_000, () => portAnswers(sshPort), logOf('sshd.log'));
}

beforeAll(async () => {
  dir = mkdtempSync('/tmp/pb-ep-'); // short: unix socket paths under it must fit in 108 bytes
  [tlsPort, sshPort] = [await freePort(), await freePort()];
  const serverExt = 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n';
  const clientExt = 'extendedKeyUsage=clientAuth\n';
  await Promise.all([makeCa('ca'), makeCa('other-ca')]);
  await Promise.all([
    makeCert('server', 'ca', serverExt),
    makeCert('client', 'ca', clientExt),
    makeCert('other-client', 'other-ca', clientExt),
  ]);
  await Promise.all([startSecondEngine(), startSshd()]);
}, 60_000);

afterAll(async () => {
  await stopPid(sshd?.pid, 5_000);
  await stopPid(dockerd?.pid, 15_000);
  // A dockerd that had to be killed leaves its containerd (pid file under the exec-root) behind.
  const containerdPid = path.join(dir, 'exec', 'containerd', 'containerd.pid');
  if (existsSync(containerdPid)) await stopPid(Number(readFileSync(containerdPid, 'utf8').trim()), 5_000);
  for (const child of children) if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
  await exec('ip', ['link', 'del', BRIDGE]).catch(() => undefined);
  // The engine leaves bind mounts under its roots (exec/netns/default…): deepest first.
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((m) => m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await exec('umount', ['-l', m], { timeout: 5_000 }).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}, 40_000);

// --- hosts as records give them ----------------------------------------------------------------

/** A host of a validated record (so the schema and validation accept exactly what is tested here). */
function recordHost(host: Record<string, unknown>): DockerHostSpec {
  const input = fixtureRecord('endpoints', { svc: { image: FIXTURE.v1, ports: [18691] } });
  input.spec.runtime.docker = { hosts: [{ name: 'ctl2', ...host } as never] };
  input.spec.services[0]!.instances = [{ host: 'ctl2', port: 18691 }];
  const result = validateRecord(input);
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.record.spec.runtime.docker.hosts[0]!;
}

const f = (name: string): string => path.join(dir, name);
const tlsHost = (over: Partial<Record<'ca' | 'cert' | 'key', string>> = {}): DockerHostSpec =>
  recordHost({
    endpoint: `tcp://127.0.0.1:${tlsPort}`,
    tls: { ca: f('ca.pem'), cert: f('client.pem'), key: f('client.key'), ...over },
  });
const sshHost = (over: Record<string, unknown> = {}): DockerHostSpec =>
  recordHost({
    endpoint: `ssh://root@127.0.0.1:${sshPort}`,
    sshKey: f('id_ed25519'),
    sshKnownHosts: f('known_hosts'),
    ...over,
  });

test("the second engine leaves the main engine's docker0 alone (its default network still starts containers)", async () => {
  await exec('ip', ['link', 'show', 'docker0']);
  const probe = await main.createContainer({ Image: FIXTURE.v1, Cmd: ['job', 'true'], Tty: false });
  try {
    await probe.start();
    expect(((await probe.wait()) as { StatusCode: number }).StatusCode).toBe(0);
  } finally {
    await probe.remove({ force: true });
  }
});

describe('tcp:// with TLS (a second engine with --tlsverify)', () => {
  test('ping, info and lists reach the second engine through TLS', async () => {
    const docker = dockerForHost(tlsHost());
    expect((await docker.ping()).toString()).toBe('OK');
    const [viaTls, inside, local] = await Promise.all([docker.info(), second.info(), main.info()]);
    // (Engine IDs come from /etc/docker/key.json, which both engines share: compare data roots.)
    expect(viaTls.DockerRootDir).toBe(path.join(dir, 'data'));
    expect(inside.DockerRootDir).toBe(viaTls.DockerRootDir);
    expect(local.DockerRootDir).not.toBe(viaTls.DockerRootDir);
    expect(await docker.listContainers({ all: true })).toEqual([]);
    expect(await unreachableReason(tlsHost())).toBeUndefined();
  });

  test('a client certificate of another CA is refused, and the reason says so', async () => {
    const reason = await unreachableReason(
      tlsHost({ cert: f('other-client.pem'), key: f('other-client.key') }),
    );
    expect(reason).toMatch(/^TLS: the engine refused our client certificate/);
    expect(reason).toBe(
      `TLS: the engine refused our client certificate (tls.cert ${f('other-client.pem')} is not signed by a CA the engine trusts, its --tlscacert; it answered "bad certificate")`,
    );
  });

  test('an engine certificate our CA did not sign: "certificate signed by unknown authority"', async () => {
    const reason = await unreachableReason(tlsHost({ ca: f('other-ca.pem') }));
    expect(reason).toMatch(/^TLS: certificate signed by unknown authority/);
  });

  test('plain http to the TLS port says the engine speaks TLS', async () => {
    const reason = await unreachableReason(
      recordHost({ endpoint: `tcp://127.0.0.1:${tlsPort}`, insecure: true }),
    );
    expect(reason).toMatch(/speaks TLS but host ctl2 has no tls settings/);
  });

  test('a TLS file that is not there: PREFLIGHT_FAILED naming the host and the path', async () => {
    const host = tlsHost({ key: f('nosuch.key') });
    let thrown: unknown;
    try {
      dockerForHost(host);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(PatchbayError);
    expect(thrown).toMatchObject({ code: 'PREFLIGHT_FAILED' });
    expect((thrown as Error).message).toBe(
      `host ctl2 (tcp://127.0.0.1:${tlsPort}): cannot read tls.key ${f('nosuch.key')}: no such file`,
    );
    expect(await unreachableReason(host)).toBe(`cannot read tls.key ${f('nosuch.key')}: no such file`);
  });

  test("the activities' preflight names the host and the reason; with the right certificate it gets to the image", async () => {
    const activities = createDockerActivities({ docker: dockerForHost });
    const service = CloudRecordSchema.parse(
      fixtureRecord('endpoints', { svc: { image: FIXTURE.v1, ports: [18691] } }),
    ).spec.services[0] as ServiceSpec;
    const onCtl2 = { ...service, instances: [{ host: 'ctl2', port: 18691 }] };
    const preflight = (host: DockerHostSpec): Promise<void> =>
      new MockActivityEnvironment().run(activities.preflightService, {
        cloud: 'endpoints',
        service: onCtl2,
        hosts: [host],
      });

    const refused = await preflight(
      tlsHost({ cert: f('other-client.pem'), key: f('other-client.key') }),
    ).catch((e: unknown) => e);
    expect(refused).toMatchObject({ type: 'PREFLIGHT_FAILED' });
    expect((refused as Error).message).toMatch(
      new RegExp(
        `host ctl2 \\(tcp://127\\.0\\.0\\.1:${tlsPort}\\) is unreachable: TLS: the engine refused our client certificate`,
      ),
    );

    // Through TLS the engine answers: the image is simply not on this second engine.
    const missing = await preflight(tlsHost()).catch((e: unknown) => e);
    expect((missing as Error).message).toMatch(`image ${FIXTURE.v1} is not present on host ctl2`);
  });
});

describe('ssh:// (an sshd on loopback; docker system dial-stdio on the "remote")', () => {
  test('with the authorized key it reaches the engine behind it (the main one)', async () => {
    const docker = dockerForHost(sshHost());
    expect((await docker.ping()).toString()).toBe('OK');
    const [viaSsh, local] = await Promise.all([docker.info(), main.info()]);
    expect(viaSsh.DockerRootDir).toBe(local.DockerRootDir);
    expect(viaSsh.DockerRootDir).not.toBe(path.join(dir, 'data'));
    expect(await unreachableReason(sshHost())).toBeUndefined();
    // known_hosts as `ssh-keygen -H` (HashKnownHosts) writes it: the host name hashed.
    expect(readFileSync(f('known_hosts.hashed'), 'utf8')).toMatch(/^\|1\|/);
    expect(await unreachableReason(sshHost({ sshKnownHosts: f('known_hosts.hashed') }))).toBeUndefined();
  });

  test('a key that is not authorized is refused, and the reason says so', async () => {
    expect(await unreachableReason(sshHost({ sshKey: f('wrong_ed25519') }))).toBe(
      `ssh: root@127.0.0.1:${sshPort} refused the key ${f('wrong_ed25519')} (is its public key in the user's authorized_keys?)`,
    );
  });

  test('a host where `docker system dial-stdio` fails: the key was accepted, the engine did not answer', async () => {
    expect(await unreachableReason(sshHost({ sshKey: f('nodocker_ed25519') }))).toMatch(
      `ssh: root@127.0.0.1:${sshPort} accepted the key but \`docker system dial-stdio\` did not answer`,
    );
  });

  test('a host known_hosts does not list is refused, with what to do', async () => {
    expect(await unreachableReason(sshHost({ sshKnownHosts: f('known_hosts.elsewhere') }))).toBe(
      `ssh: [127.0.0.1]:${sshPort} is not in ${f('known_hosts.elsewhere')}; add its key (ssh-keyscan -p ${sshPort} 127.0.0.1, checked out of band)`,
    );
  });

  test('a host key other than known_hosts lists is refused before authenticating', async () => {
    const reason = await unreachableReason(sshHost({ sshKnownHosts: f('known_hosts.other') }));
    expect(reason).toMatch(
      `ssh: the key of [127.0.0.1]:${sshPort} does not match the one in ${f('known_hosts.other')}`,
    );
  });

  test("the activities' preflight passes through ssh (the image is on the main engine)", async () => {
    const activities = createDockerActivities({ docker: dockerForHost });
    const service = CloudRecordSchema.parse(
      fixtureRecord('endpoints', { svc: { image: FIXTURE.v1, ports: [18691] } }),
    ).spec.services[0] as ServiceSpec;
    const onCtl2 = { ...service, instances: [{ host: 'ctl2', port: 18691 }] };
    await expect(
      new MockActivityEnvironment().run(activities.preflightService, {
        cloud: 'endpoints',
        service: onCtl2,
        hosts: [sshHost()],
      }),
    ).resolves.toBeUndefined();
  });
});
