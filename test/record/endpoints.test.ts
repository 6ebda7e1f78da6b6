// Docker endpoints of a record's hosts (src/record/schema.ts DockerHost, src/record/endpoint.ts):
// unix sockets, tcp:// with TLS (or plain only when the record says insecure), ssh://user@host[:port].
import { formatIssue, type RecordIssue } from '../../src/lib/errors';
import { parseDockerEndpoint } from '../../src/record/endpoint';
import { DockerHost, type CloudRecordInput } from '../../src/record/schema';
import { validateRecord } from '../../src/record/validate';

const TLS = {
  ca: '/etc/patchbay/ctl2/ca.pem',
  cert: '/etc/patchbay/ctl2/cert.pem',
  key: '/etc/patchbay/ctl2/key.pem',
};

/** A record whose second host (hosts[1], "ctl2") is the one under test. */
function record(ctl2: Record<string, unknown>): CloudRecordInput {
  return {
    apiVersion: 'patchbay/v1',
    kind: 'Cloud',
    metadata: { name: 'lab' },
    spec: {
      runtime: { docker: { hosts: [{ name: 'ctl1' }, { name: 'ctl2', ...ctl2 } as never] } },
      services: [
        {
          name: 'api',
          image: 'patchbay/fixture:v1',
          instances: [
            { host: 'ctl1', port: 18101 },
            { host: 'ctl2', port: 18101 },
          ],
          health: { http: { path: '/health' } },
        },
      ],
    },
  };
}

function hostOf(ctl2: Record<string, unknown>) {
  const result = validateRecord(record(ctl2));
  if (!result.ok) throw new Error(`expected a valid record: ${result.issues.map(formatIssue).join('; ')}`);
  return result.record.spec.runtime.docker.hosts[1];
}

function issuesOf(ctl2: Record<string, unknown>): RecordIssue[] {
  const result = validateRecord(record(ctl2));
  if (result.ok) throw new Error('expected the record to be invalid');
  return result.issues;
}

const at = (field: string): string => `spec.runtime.docker.hosts[1].${field}`;

describe('accepted endpoints', () => {
  test('a unix socket, as before', () => {
    expect(hostOf({ endpoint: 'unix:///run/ctl2/docker.sock' })).toEqual({
      name: 'ctl2',
      endpoint: 'unix:///run/ctl2/docker.sock',
      address: '127.0.0.1',
      reach: 'direct',
    });
  });

  test('tcp:// with tls: the paths are kept, never file contents', () => {
    expect(hostOf({ endpoint: 'tcp://10.0.0.2:2376', address: '10.0.0.2', tls: TLS })).toEqual({
      name: 'ctl2',
      endpoint: 'tcp://10.0.0.2:2376',
      address: '10.0.0.2',
      tls: TLS,
      reach: 'direct',
    });
  });

  test('plain tcp:// when the record says insecure: true', () => {
    expect(hostOf({ endpoint: 'tcp://10.0.0.2:2375', insecure: true })).toMatchObject({
      endpoint: 'tcp://10.0.0.2:2375',
      insecure: true,
    });
  });

  test('ssh://user@host, with or without a port, key and known_hosts', () => {
    expect(hostOf({ endpoint: 'ssh://root@10.0.0.2' })).toMatchObject({ endpoint: 'ssh://root@10.0.0.2' });
    expect(
      hostOf({
        endpoint: 'ssh://patchbay@ctl2.example:2222',
        sshKey: '/etc/patchbay/id_ed25519',
        sshKnownHosts: '/etc/patchbay/known_hosts',
      }),
    ).toMatchObject({
      sshKey: '/etc/patchbay/id_ed25519',
      sshKnownHosts: '/etc/patchbay/known_hosts',
      reach: 'direct',
    });
  });

  test('the endpoint taken apart (IPv6 in brackets, ssh on 22 by default)', () => {
    expect(parseDockerEndpoint('unix:///var/run/docker.sock')).toEqual({
      kind: 'unix',
      socketPath: '/var/run/docker.sock',
    });
    expect(parseDockerEndpoint('tcp://[::1]:2376')).toEqual({ kind: 'tcp', host: '::1', port: 2376 });
    expect(parseDockerEndpoint('ssh://root@10.0.0.2')).toEqual({
      kind: 'ssh',
      user: 'root',
      host: '10.0.0.2',
      port: 22,
    });
    expect(parseDockerEndpoint('ssh://ops@[fd00::2]:2200')).toEqual({
      kind: 'ssh',
      user: 'ops',
      host: 'fd00::2',
      port: 2200,
    });
  });
});

describe('plain tcp:// is refused unless meant', () => {
  test('without tls: says why (root on the host) and what to do (TLS on 2376, or insecure: true)', () => {
    const issues = issuesOf({ endpoint: 'tcp://10.0.0.2:2375' });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: at('endpoint'), value: 'tcp://10.0.0.2:2375' });
    expect(formatIssue(issues[0]!)).toBe(
      'spec.runtime.docker.hosts[1].endpoint: plain tcp:// without tls: anyone who reaches 10.0.0.2:2375 is root on host "ctl2" ' +
        '(the Docker API has no authentication of its own); give tls { ca, cert, key } for an engine started with ' +
        '--tlsverify (usually on port 2376; Docker\'s "Protect the Docker daemon socket"), ' +
        'or set insecure: true if an unprotected endpoint is really meant (got "tcp://10.0.0.2:2375")',
    );
  });

  test('insecure: false is the same as leaving it out', () => {
    expect(issuesOf({ endpoint: 'tcp://10.0.0.2:2375', insecure: false })).toMatchObject([
      { path: at('endpoint'), message: expect.stringContaining('is root on host "ctl2"') },
    ]);
  });

  test('insecure: true next to tls contradicts it', () => {
    expect(issuesOf({ endpoint: 'tcp://10.0.0.2:2376', tls: TLS, insecure: true })).toEqual([
      {
        path: at('insecure'),
        value: true,
        message: 'insecure: true contradicts tls (the endpoint uses TLS): leave insecure out',
      },
    ]);
  });
});

describe('settings that belong to another kind of endpoint', () => {
  test('tls and insecure on a unix socket', () => {
    expect(issuesOf({ endpoint: 'unix:///run/ctl2/docker.sock', tls: TLS, insecure: true })).toEqual([
      {
        path: at('tls'),
        value: TLS,
        message:
          'tls is for tcp:// endpoints only (this one is unix://); a unix socket is guarded by its file permissions: leave it out',
      },
      {
        path: at('insecure'),
        value: true,
        message:
          'insecure is for tcp:// endpoints only (this one is unix://); a unix socket is guarded by its file permissions: leave it out',
      },
    ]);
  });

  test('tls without an endpoint: the default one is a unix socket', () => {
    expect(issuesOf({ tls: TLS })).toMatchObject([
      { path: at('tls'), message: expect.stringMatching(/^tls is for tcp:\/\//) },
    ]);
  });

  test('tls on ssh, sshKey and sshKnownHosts on tcp', () => {
    expect(issuesOf({ endpoint: 'ssh://root@10.0.0.2', tls: TLS }).map((i) => [i.path, i.message])).toEqual([
      [
        at('tls'),
        'tls is for tcp:// endpoints only (this one is ssh://); ssh encrypts and authenticates: leave it out',
      ],
    ]);
    expect(
      issuesOf({ endpoint: 'tcp://10.0.0.2:2376', tls: TLS, sshKey: '/k', sshKnownHosts: '/kh' }).map((i) => [
        i.path,
        i.value,
        i.message,
      ]),
    ).toEqual([
      [at('sshKey'), '/k', 'sshKey is for ssh:// endpoints only (this one is tcp://); leave it out'],
      [
        at('sshKnownHosts'),
        '/kh',
        'sshKnownHosts is for ssh:// endpoints only (this one is tcp://); leave it out',
      ],
    ]);
  });
});

describe('malformed endpoints and settings', () => {
  test.each([['http://10.0.0.2:2375'], ['tcp://10.0.0.2'], ['ssh://10.0.0.2'], ['ssh://root@10.0.0.2/path']])(
    '%s: the message lists the three kinds',
    (endpoint) => {
      expect(issuesOf({ endpoint })).toEqual([
        {
          path: at('endpoint'),
          value: endpoint,
          message: 'must be unix:///path/to/docker.sock, tcp://host:port or ssh://user@host[:port]',
        },
      ]);
    },
  );

  test.each([
    ['tcp://10.0.0.2:70000', 'port 70000 is not between 1 and 65535'],
    ['tcp://ops@10.0.0.2:2376', 'must be tcp://host:port (no user, no path)'],
    ['ssh://root@10.0.0.2:0', 'port 0 is not between 1 and 65535'],
  ])('%s: %s', (endpoint, message) => {
    expect(issuesOf({ endpoint, tls: endpoint.startsWith('tcp') ? TLS : undefined })).toEqual([
      { path: at('endpoint'), value: endpoint, message },
    ]);
  });

  test('a password in an ssh:// endpoint is refused (it would be in every history)', () => {
    const [issue, ...rest] = issuesOf({ endpoint: 'ssh://root:hunter2@10.0.0.2' });
    expect(rest).toEqual([]);
    expect(issue?.message).toMatch(
      /^must not carry a password \(it would be stored in every revision and workflow history\); give sshKey/,
    );
    expect(issue?.value).toBe('ssh://root:<redacted>@10.0.0.2'); // error output never shows it
  });

  test('tls paths must be absolute; all three files are required; no other fields', () => {
    expect(
      issuesOf({ endpoint: 'tcp://10.0.0.2:2376', tls: { ca: 'ca.pem', cert: TLS.cert, key: TLS.key } }),
    ).toEqual([
      {
        path: at('tls.ca'),
        value: 'ca.pem',
        message: 'must be an absolute path (a file on the machine that connects)',
      },
    ]);
    expect(issuesOf({ endpoint: 'tcp://10.0.0.2:2376', tls: { ca: TLS.ca, cert: TLS.cert } })).toMatchObject([
      { path: at('tls.key'), message: 'missing required field "key" (string)' },
    ]);
    expect(
      issuesOf({ endpoint: 'tcp://10.0.0.2:2376', tls: { ...TLS, keyPem: '-----BEGIN' } }).map(formatIssue),
    ).toEqual([
      'spec.runtime.docker.hosts[1].tls.keyPem: unknown field "keyPem"; allowed here: ca, cert, key (got "-----BEGIN")',
    ]);
    expect(issuesOf({ endpoint: 'ssh://root@h', sshKey: '~/.ssh/id_ed25519' })).toMatchObject([
      { path: at('sshKey'), value: '~/.ssh/id_ed25519' },
    ]);
  });

  test('DockerHost alone accepts the shapes (the combination rules are validation, not parsing)', () => {
    // Parsing must keep accepting every record it ever accepted (replays parse stored records).
    expect(DockerHost.parse({ name: 'old', endpoint: 'tcp://10.0.0.2:2375' })).toMatchObject({
      reach: 'direct',
    });
  });
});
