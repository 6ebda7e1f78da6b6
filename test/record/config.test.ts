import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PatchbayError, type RecordIssue } from '../../src/lib/errors';
import { mergeIniOverrides, renderConfigFiles } from '../../src/record/configFiles';
import { instanceSpecHash, kubernetesSpecHash } from '../../src/record/identity';
import { loadRecordFile, parseRecordText } from '../../src/record/load';
import { resolveSecretRefs, secretRefsIn } from '../../src/record/template';
import { validateRecord } from '../../src/record/validate';

const RECORD = (config: string, extra = '') => `apiVersion: patchbay/v1
kind: Cloud
metadata: { name: lab }
spec:
  runtime: { docker: { hosts: [{ name: ctl1 }] } }
  services:
    - name: api
      image: patchbay/fixture:v1
      instances: [{ host: ctl1, port: 18111 }]
      health: { http: { path: /health } }
${extra}      config:
${config}
`;

function issuesOf(run: () => unknown): RecordIssue[] {
  try {
    run();
  } catch (error) {
    if (error instanceof PatchbayError) return error.details.issues ?? [];
    throw error;
  }
  throw new Error('expected a PatchbayError');
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pb-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('config files in the record', () => {
  test('inline content, defaults filled, placeholders kept for the runtime', () => {
    const record = parseRecordText(
      RECORD(
        `        /etc/api/api.conf:\n          content: |\n            [DEFAULT]\n            port = {{port}}\n`,
      ),
    );
    const api = record.spec.services[0]!;
    expect(api.config).toEqual({
      '/etc/api/api.conf': { content: '[DEFAULT]\nport = {{port}}\n', mode: '0644' },
    });
    expect(renderConfigFiles(api, { port: '18111', service: 'api' })).toEqual([
      { path: '/etc/api/api.conf', content: '[DEFAULT]\nport = 18111\n', mode: 0o644, uid: 0, gid: 0 },
    ]);
  });

  test('from: is read relative to the record file, and the revision holds the content', () => {
    mkdirSync(path.join(dir, 'config', 'api'), { recursive: true });
    writeFileSync(
      path.join(dir, 'config', 'api', 'api.conf'),
      '[token]\nexpiration = 3600\nprovider = fernet\n',
    );
    writeFileSync(
      path.join(dir, 'config', 'override.conf'),
      '[token]\nexpiration = 7200\n[cache]\nenabled = false\n',
    );
    const file = path.join(dir, 'cloud.yaml');
    writeFileSync(
      file,
      RECORD(
        `        /etc/api/api.conf:\n          from: config/api/api.conf\n          overrides: [{ from: config/override.conf }]\n          mode: '0640'\n          owner: '0:42'\n`,
      ),
    );
    const api = loadRecordFile(file).spec.services[0]!;
    expect(api.config!['/etc/api/api.conf']).toEqual({
      content: '[token]\nexpiration = 7200\nprovider = fernet\n\n[cache]\nenabled = false\n',
      mode: '0640',
      owner: '0:42',
      from: 'config/api/api.conf',
    });
    // The stored record validates again to itself (revisions are re-read by workflows and the CLI).
    const again = validateRecord(JSON.parse(JSON.stringify(loadRecordFile(file))));
    expect(again.ok && again.record.spec.services[0]!.config).toEqual(api.config);
  });

  test('a missing from: file, or both content and from, is named with its path; nothing else is read', () => {
    const file = path.join(dir, 'cloud.yaml');
    writeFileSync(
      file,
      RECORD(
        `        /etc/api/a.conf: { from: nope.conf }\n        /etc/api/b.conf: { from: nope.conf, content: x }\n`,
      ),
    );
    const issues = issuesOf(() => loadRecordFile(file));
    expect(issues.map((i) => [i.path, i.message.replace(dir, '<dir>')])).toEqual([
      ['spec.services[0].config./etc/api/a.conf.from', 'cannot read <dir>/nope.conf: no such file'],
      ['spec.services[0].config./etc/api/b.conf.from', 'give either `content` or `from`, not both'],
    ]);
    expect(issues[0]?.line).toBeGreaterThan(10);
  });

  test('a record given as data must carry content (the pure validation cannot read files)', () => {
    const result = validateRecord({
      apiVersion: 'patchbay/v1',
      kind: 'Cloud',
      metadata: { name: 'lab' },
      spec: {
        runtime: { docker: { hosts: [{ name: 'ctl1' }] } },
        services: [
          {
            name: 'api',
            image: 'patchbay/fixture:v1',
            instances: [{ host: 'ctl1', port: 18111 }],
            health: { http: { path: '/h' } },
            config: { '/etc/a.conf': { from: 'a.conf' } },
          },
        ],
      },
    });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.issues.map((i) => i.path)).toEqual([
      'spec.services[0].config./etc/a.conf.from',
    ]);
  });

  test('bad paths, modes, owners and placeholders are refused with where they are', () => {
    const issues = issuesOf(() =>
      parseRecordText(
        RECORD(
          [
            `        etc/relative.conf: { content: x }`,
            `        /etc/../x.conf: { content: x }`,
            `        /etc/ok.conf: { content: x, mode: '999', owner: keystone }`,
          ].join('\n'),
        ),
      ),
    );
    expect(issues.map((i) => `${i.path}: ${i.message.slice(0, 40)}`)).toEqual([
      'spec.services[0].config.etc/relative.conf: this key must be an absolute file path s',
      'spec.services[0].config./etc/../x.conf: this key must be an absolute file path s',
      'spec.services[0].config./etc/ok.conf.mode: must be an octal mode such as "0644" or ',
      'spec.services[0].config./etc/ok.conf.owner: must be a numeric "uid:gid" such as "0:4',
    ]);
    const placeholders = issuesOf(() =>
      parseRecordText(
        RECORD(
          `        /etc/typo.conf: { content: 'a = {{hots}} {{ secret "nope:X" }} {{ secret "env:OK" }}' }`,
        ),
      ),
    );
    expect(placeholders.map((i) => `${i.path}: ${i.message.slice(0, 40)}`)).toEqual([
      'spec.services[0].config./etc/typo.conf.content: unknown placeholder {{hots}}: config fil',
      'spec.services[0].config./etc/typo.conf.content: unknown placeholder {{ secret "nope:X" }',
    ]);
  });

  test('a service with jobs may use only {{service}} in its config files (its jobs get them too)', () => {
    const issues = issuesOf(() =>
      parseRecordText(
        RECORD(
          `        /etc/api/api.conf: { content: 'port = {{port}} name = {{service}}' }`,
          `      jobs: { before: [{ name: sync, command: [sync] }] }\n`,
        ),
      ),
    );
    expect(issues.map((i) => i.message)).toEqual([
      expect.stringContaining("unknown placeholder {{port}}: this service's jobs get its config files too"),
    ]);
  });
});

describe('INI overrides (merged with the ini library)', () => {
  test('keys replaced, new keys and sections added, base order kept, values written as oslo reads them', () => {
    const base =
      '# comment\n[DEFAULT]\ndebug = false\n\n[database]\nconnection = mysql+pymysql://k:{{ secret "env:PW" }}@db/k?charset=utf8\n';
    expect(mergeIniOverrides(base, ['[DEFAULT]\ndebug = true\n', '[token]\nexpiration = 7200\n'])).toBe(
      '[DEFAULT]\ndebug = true\n\n[database]\nconnection = mysql+pymysql://k:{{ secret "env:PW" }}@db/k?charset=utf8\n\n[token]\nexpiration = 7200\n',
    );
  });

  test('without overrides the text is kept exactly as written', () => {
    const base = '# keep me\n[a]\nx=1 ; not a comment to us\n';
    expect(mergeIniOverrides(base, [])).toBe(base);
  });
});

describe('secret references in config files', () => {
  test('found and resolved by whoever creates the container; everything else left as written', () => {
    const text = 'a = {{ secret "env:DB_PW" }}\nb = {{secret "file:/run/s/key"}}\nc = {{port}}\n';
    expect(secretRefsIn(text)).toEqual(['env:DB_PW', 'file:/run/s/key']);
    expect(resolveSecretRefs(text, (ref) => `<${ref}>`)).toBe(
      'a = <env:DB_PW>\nb = <file:/run/s/key>\nc = {{port}}\n',
    );
  });
});

describe('config in the spec hash', () => {
  const record = (config: string) => parseRecordText(RECORD(config)).spec.services[0]!;
  test('a config change replaces instances; no config keeps the hash of records from before config existed', () => {
    const one = record(`        /etc/a.conf: { content: 'x = 1' }`);
    const two = record(`        /etc/a.conf: { content: 'x = 2' }`);
    const none = { ...one, config: {} };
    const instance = one.instances[0]!;
    expect(instanceSpecHash(one, instance)).not.toBe(instanceSpecHash(two, instance));
    const { config: _c, ...old } = none; // a service stored before config existed
    expect(instanceSpecHash(none, instance)).toBe(instanceSpecHash(old as typeof none, instance));
    expect(kubernetesSpecHash(none)).toBe(kubernetesSpecHash(old as typeof none));
    expect(kubernetesSpecHash(one)).not.toBe(kubernetesSpecHash(two));
    // Where the text came from does not matter, only what it is.
    expect(
      instanceSpecHash(
        { ...one, config: { '/etc/a.conf': { ...one.config!['/etc/a.conf']!, from: 'a' } } },
        instance,
      ),
    ).toBe(instanceSpecHash(one, instance));
  });
});

describe('config files on Kubernetes', () => {
  test('only {{port}} and {{service}}, and no owner (ConfigMap files are mounted as root)', () => {
    const text = `apiVersion: patchbay/v1
kind: Cloud
metadata: { name: lab }
spec:
  runtime: { kubernetes: { namespace: openstack } }
  services:
    - name: api
      image: patchbay/fixture:v1
      replicas: 2
      port: 8080
      health: { http: { path: /health } }
      config:
        /etc/api/api.conf: { content: 'port = {{port}} pod = {{instance}}', owner: '0:42' }
`;
    expect(issuesOf(() => parseRecordText(text)).map((i) => [i.path, i.message.slice(0, 60)])).toEqual([
      [
        'spec.services[0].config./etc/api/api.conf.owner',
        'Kubernetes mounts ConfigMap and Secret files as root (no per',
      ],
      [
        'spec.services[0].config./etc/api/api.conf.content',
        'unknown placeholder {{instance}}: on Kubernetes one ConfigMa',
      ],
    ]);
  });
});
