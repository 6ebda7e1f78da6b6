// Building Docker clients from a host's endpoint settings (no engine needed: nothing here connects).
// The connections themselves are tested against real engines in dockerEndpoints.it.test.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PatchbayError } from '../../src/lib/errors';
import {
  dockerForHost,
  unreachableReason,
  type DockerEndpointSettings,
} from '../../src/runtime/dockerClient';

let dir: string;
const f = (name: string): string => path.join(dir, name);
const savedEnv = { HOME: process.env.HOME, SSH_AUTH_SOCK: process.env.SSH_AUTH_SOCK };

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pb-client-'));
  writeFileSync(f('garbage.pem'), 'not a certificate\n');
  writeFileSync(f('id_ed25519'), 'a key file (ssh parses it only when it connects)\n');
  writeFileSync(f('other_ed25519'), 'another key file\n');
  writeFileSync(f('known_hosts'), '[10.0.0.2]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDc=\n');
  delete process.env.SSH_AUTH_SOCK;
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  for (const [name, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

/** The error building a client throws (fails the test if it builds). */
function buildError(host: DockerEndpointSettings): PatchbayError {
  try {
    dockerForHost(host);
  } catch (error) {
    expect(error).toBeInstanceOf(PatchbayError);
    return error as PatchbayError;
  }
  throw new Error('expected building the client to fail');
}

const tcp = 'tcp://10.0.0.2:2376';
const ssh = 'ssh://root@10.0.0.2:2222';

describe('files are read when the client is built', () => {
  test('a TLS file that is not there: PREFLIGHT_FAILED naming the host and the path', async () => {
    const host = {
      name: 'ctl2',
      endpoint: tcp,
      tls: { ca: f('ca.pem'), cert: f('garbage.pem'), key: f('k') },
    };
    const error = buildError(host);
    expect(error.code).toBe('PREFLIGHT_FAILED');
    expect(error.message).toBe(`host ctl2 (${tcp}): cannot read tls.ca ${f('ca.pem')}: no such file`);
    expect(error.details).toMatchObject({ host: 'ctl2', path: f('ca.pem') });
    // What preflight reports after "host ctl2 (…) is unreachable: "
    expect(await unreachableReason(host)).toBe(`cannot read tls.ca ${f('ca.pem')}: no such file`);
  });

  test('a directory where a file should be', () => {
    const host = {
      name: 'ctl2',
      endpoint: tcp,
      tls: { ca: dir, cert: f('garbage.pem'), key: f('garbage.pem') },
    };
    expect(buildError(host).message).toBe(
      `host ctl2 (${tcp}): cannot read tls.ca ${dir}: a directory, not a file`,
    );
  });

  test('files that are not certificates and keys', () => {
    const pem = f('garbage.pem');
    const error = buildError({ name: 'ctl2', endpoint: tcp, tls: { ca: pem, cert: pem, key: pem } });
    expect(error.code).toBe('PREFLIGHT_FAILED');
    expect(error.message).toMatch(
      `host ctl2 (${tcp}): tls files ${pem} and ${pem} (ca ${pem}) are not a usable client identity: `,
    );
  });

  test('ssh without sshKey and without an ssh-agent', () => {
    expect(buildError({ name: 'ctl3', endpoint: ssh, sshKnownHosts: f('known_hosts') }).message).toBe(
      `host ctl3 (${ssh}): ssh needs a key: give sshKey, or run the worker (or agent) with an ssh-agent (SSH_AUTH_SOCK)`,
    );
  });

  test('ssh: a known_hosts file that is not there (given, or the default one)', () => {
    expect(
      buildError({ name: 'ctl3', endpoint: ssh, sshKey: f('id_ed25519'), sshKnownHosts: f('nosuch') })
        .message,
    ).toBe(`host ctl3 (${ssh}): cannot read sshKnownHosts ${f('nosuch')}: no such file`);
    process.env.HOME = dir; // os.homedir(): no .ssh here
    expect(buildError({ name: 'ctl3', endpoint: ssh, sshKey: f('id_ed25519') }).message).toBe(
      `host ctl3 (${ssh}): cannot read known_hosts ${f('.ssh/known_hosts')} (the default when the record gives no sshKnownHosts): no such file`,
    );
  });

  test('an endpoint validation would refuse is not built either', () => {
    expect(buildError({ name: 'x', endpoint: 'tcp://10.0.0.2' }).message).toBe(
      'host x (tcp://10.0.0.2): endpoint must be tcp://host:port (no user, no path)',
    );
  });
});

describe('one client per endpoint and settings', () => {
  test('the same settings share a client; other TLS or ssh settings get their own', () => {
    const a = { name: 'a', endpoint: ssh, sshKey: f('id_ed25519'), sshKnownHosts: f('known_hosts') };
    expect(dockerForHost(a)).toBe(dockerForHost({ ...a, name: 'b' }));
    expect(dockerForHost({ ...a, sshKey: f('other_ed25519') })).not.toBe(dockerForHost(a));
    const plain = { name: 'p', endpoint: 'tcp://10.0.0.2:2375', insecure: true };
    expect(dockerForHost(plain)).toBe(dockerForHost({ ...plain }));
    expect(dockerForHost({ name: 'u', endpoint: 'unix:///run/x.sock' })).not.toBe(dockerForHost(plain));
  });

  test('a build that failed is not cached: the fixed file is read on the next call', () => {
    const host = { name: 'ctl3', endpoint: ssh, sshKey: f('late_ed25519'), sshKnownHosts: f('known_hosts') };
    expect(buildError(host).message).toMatch('cannot read sshKey');
    writeFileSync(f('late_ed25519'), 'now it is there\n');
    expect(() => dockerForHost(host)).not.toThrow();
  });
});
