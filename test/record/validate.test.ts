import type { RecordIssue } from '../../src/lib/errors';
import type { CloudRecordInput } from '../../src/record/schema';
import { checkRecordSemantics, dependencyLevels, REDACTED, validateRecord } from '../../src/record/validate';

type ServiceInput = CloudRecordInput['spec']['services'][number];

function service(name: string, port: number, extra: Partial<ServiceInput> = {}): ServiceInput {
  return {
    name,
    image: 'patchbay/fixture:v1',
    instances: [{ host: 'ctl1', port }],
    health: { http: { path: '/health' }, timeout: '30s', interval: '500ms' },
    ...extra,
  };
}

/** A valid three-service record, as an operator writes it (defaults omitted, durations as strings). */
function input(): CloudRecordInput {
  return {
    apiVersion: 'patchbay/v1',
    kind: 'Cloud',
    metadata: { name: 'lab' },
    spec: {
      runtime: {
        docker: {
          hosts: [
            { name: 'ctl1' },
            {
              name: 'ctl2',
              endpoint: 'tcp://10.0.0.2:2376',
              tls: {
                ca: '/etc/patchbay/ca.pem',
                cert: '/etc/patchbay/cert.pem',
                key: '/etc/patchbay/key.pem',
              },
            },
          ],
        },
      },
      services: [service('db', 18101), service('api', 18111, { dependsOn: ['db'] }), service('web', 18121)],
    },
  };
}

/** Issues of a record edited from the valid one; fails the test if it unexpectedly passes. */
function issuesOf(edit: (r: CloudRecordInput) => void): RecordIssue[] {
  const r = input();
  edit(r);
  const result = validateRecord(r);
  if (result.ok) throw new Error('expected the record to be invalid');
  return result.issues;
}

function svc(r: CloudRecordInput, i: number): ServiceInput {
  return r.spec.services[i] as ServiceInput;
}

describe('validateRecord: a valid record', () => {
  test('passes, with defaults filled and durations in milliseconds', () => {
    const result = validateRecord(input());
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    const [db] = result.record.spec.services;
    expect(result.record.metadata.labels).toEqual({});
    expect(result.record.spec.runtime.docker.hosts[0]).toEqual({
      name: 'ctl1',
      endpoint: 'unix:///var/run/docker.sock',
      address: '127.0.0.1',
      reach: 'direct',
    });
    expect(db).toMatchObject({
      dependsOn: [],
      env: {},
      secretEnv: {},
      volumes: [],
      health: { http: { path: '/health', expectStatus: 200 }, timeout: 30_000, interval: 500 },
      upgrade: { strategy: 'rolling', maxUnavailable: 1, bake: 0, onFailure: 'rollback' },
      stopGracePeriod: 10_000,
    });
  });

  test('has no semantic issues', () => {
    const result = validateRecord(input());
    expect(result.ok && checkRecordSemantics(result.record)).toEqual([]);
  });

  test('accepts digests, non-secret env, empty secret-looking env and maxUnavailable = instances', () => {
    const result = validateRecord({
      ...input(),
      spec: {
        ...input().spec,
        services: [
          service('db', 18101, {
            image: 'registry.local:5000/patchbay/fixture@sha256:' + 'a'.repeat(64),
            env: { PORT: '{{port}}', DB_PASSWORD: '' },
            secretEnv: { API_TOKEN: 'env:LAB_TOKEN' },
            upgrade: { maxUnavailable: 1 },
          }),
        ],
      },
    });
    expect(result.ok ? [] : result.issues).toEqual([]);
  });
});

describe('validateRecord: schema problems', () => {
  test('wrong type: path, value as written and zod message', () => {
    const issues = issuesOf((r) => ((svc(r, 1).instances![0] as { port: unknown }).port = 'eighty'));
    expect(issues).toEqual([
      {
        path: 'spec.services[1].instances[0].port',
        value: 'eighty',
        message: expect.stringContaining('expected number, received string'),
      },
    ]);
  });

  test('a number where text is expected says to quote it', () => {
    const issues = issuesOf((r) => (svc(r, 0).env = { PORT: 8080 as unknown as string }));
    expect(issues).toEqual([
      {
        path: 'spec.services[0].env.PORT',
        value: 8080,
        message: expect.stringMatching(/expected string.*quotes/),
      },
    ]);
  });

  test('unknown field: named in the path, with the fields allowed there', () => {
    const issues = issuesOf((r) => ((svc(r, 1) as Record<string, unknown>).replicaCount = 3));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: 'spec.services[1].replicaCount', value: 3 });
    expect(issues[0]?.message).toMatch(
      /^unknown field "replicaCount"; allowed here: name, image, dependsOn, instances/,
    );
  });

  test('unknown field inside a defaulted object still lists the allowed fields', () => {
    const issues = issuesOf((r) => (svc(r, 0).upgrade = { maxUnavailable: 1, surge: 1 } as never));
    expect(issues[0]).toMatchObject({ path: 'spec.services[0].upgrade.surge', value: 1 });
    expect(issues[0]?.message).toContain('allowed here: strategy, maxUnavailable, maxSurge, bake, onFailure');
  });

  test('missing required field', () => {
    const issues = issuesOf((r) => delete (svc(r, 2) as Partial<ServiceInput>).image);
    expect(issues).toEqual([
      {
        path: 'spec.services[2].image',
        value: undefined,
        message: 'missing required field "image" (string)',
      },
    ]);
  });

  test('duration of the wrong type names the accepted types', () => {
    const issues = issuesOf((r) => (svc(r, 0).health.timeout = true as never));
    expect(issues).toEqual([
      {
        path: 'spec.services[0].health.timeout',
        value: true,
        message: 'expected number or string, received boolean',
      },
    ]);
  });

  test('malformed duration string', () => {
    const issues = issuesOf((r) => (svc(r, 0).upgrade = { bake: '2 seconds' }));
    expect(issues).toEqual([
      {
        path: 'spec.services[0].upgrade.bake',
        value: '2 seconds',
        message: expect.stringContaining('"500ms"'),
      },
    ]);
  });

  test('an invalid secretEnv reference is reported without echoing the value', () => {
    const issues = issuesOf((r) => (svc(r, 0).secretEnv = { DB_PASSWORD: 'hunter2' }));
    expect(issues).toEqual([
      {
        path: 'spec.services[0].secretEnv.DB_PASSWORD',
        value: REDACTED,
        message: expect.stringContaining('env:NAME'),
      },
    ]);
    expect(JSON.stringify(issues)).not.toContain('hunter2');
  });

  test('an empty record', () => {
    const result = validateRecord(null);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.issues).toEqual([
      { path: '(root)', value: null, message: expect.stringContaining('the record is empty') },
    ]);
  });
});

describe('checkRecordSemantics (through validateRecord)', () => {
  test('duplicate service names', () => {
    const issues = issuesOf((r) => (svc(r, 2).name = 'db'));
    expect(issues).toEqual([
      {
        path: 'spec.services[2].name',
        value: 'db',
        message:
          'duplicate service name "db" (already used by spec.services[0]); service names must be unique',
      },
    ]);
  });

  test('duplicate host names', () => {
    const issues = issuesOf((r) => r.spec.runtime.docker!.hosts.push({ name: 'ctl1' }));
    expect(issues).toEqual([
      {
        path: 'spec.runtime.docker.hosts[2].name',
        value: 'ctl1',
        message: expect.stringContaining(
          'duplicate host name "ctl1" (already declared at spec.runtime.docker.hosts[0])',
        ),
      },
    ]);
  });

  test('dependsOn an unknown service lists the known ones', () => {
    const issues = issuesOf((r) => (svc(r, 1).dependsOn = ['db', 'nosuch']));
    expect(issues).toEqual([
      {
        path: 'spec.services[1].dependsOn[1]',
        value: 'nosuch',
        message: 'depends on unknown service "nosuch"; known services: "db", "api", "web"',
      },
    ]);
  });

  test('a service depending on itself (and no cycle reported for it)', () => {
    const issues = issuesOf((r) => (svc(r, 2).dependsOn = ['api', 'web']));
    expect(issues).toEqual([
      {
        path: 'spec.services[2].dependsOn[1]',
        value: 'web',
        message: 'service "web" depends on itself; remove this entry',
      },
    ]);
  });

  test('a dependency cycle is shown in full, once', () => {
    const issues = issuesOf((r) => {
      svc(r, 0).dependsOn = ['web']; // db -> web -> api -> db
      svc(r, 2).dependsOn = ['api'];
    });
    expect(issues).toEqual([
      {
        path: 'spec.services[0].dependsOn[0]',
        value: 'web',
        message: 'dependency cycle: db -> web -> api -> db; remove one of these dependsOn entries',
      },
    ]);
  });

  test('two separate cycles are two issues; the shortest cycle of a tangle is shown', () => {
    const issues = issuesOf((r) => {
      r.spec.services = [
        service('a', 1, { dependsOn: ['b'] }),
        service('b', 2, { dependsOn: ['c', 'a'] }),
        service('c', 3, { dependsOn: ['a'] }),
        service('x', 4, { dependsOn: ['y'] }),
        service('y', 5, { dependsOn: ['x'] }),
      ];
    });
    expect(issues.map((i) => [i.path, i.message.split(';')[0]])).toEqual([
      ['spec.services[0].dependsOn[0]', 'dependency cycle: a -> b -> a'],
      ['spec.services[3].dependsOn[0]', 'dependency cycle: x -> y -> x'],
    ]);
  });

  test('an instance on an undeclared host lists the declared hosts', () => {
    const issues = issuesOf((r) => ((svc(r, 1).instances![0] as { host: string }).host = 'ctl9'));
    expect(issues).toEqual([
      {
        path: 'spec.services[1].instances[0].host',
        value: 'ctl9',
        message: 'unknown host "ctl9"; declared hosts (spec.runtime.docker.hosts): "ctl1", "ctl2"',
      },
    ]);
  });

  test('two instances of one service on one host:port', () => {
    const issues = issuesOf((r) => svc(r, 1).instances!.push({ host: 'ctl1', port: 18111 }));
    expect(issues).toEqual([
      {
        path: 'spec.services[1].instances[1].port',
        value: 18111,
        message:
          'ctl1:18111 is used twice: by spec.services[1].instances[0] (service "api") and by spec.services[1].instances[1] (service "api"); give each instance its own host:port',
      },
    ]);
  });

  test('instances of different services on one host:port; the same port on another host is fine', () => {
    const issues = issuesOf((r) => {
      svc(r, 2).instances = [
        { host: 'ctl2', port: 18101 },
        { host: 'ctl1', port: 18101 },
      ];
    });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: 'spec.services[2].instances[1].port', value: 18101 });
    expect(issues[0]?.message).toContain('by spec.services[0].instances[0] (service "db")');
    expect(issues[0]?.message).toContain('by spec.services[2].instances[1] (service "web")');
  });

  test.each(['patchbay/fixture', 'registry.local:5000/patchbay/fixture', 'fixture:'])(
    'image without tag or digest: %s',
    (image) => {
      const issues = issuesOf((r) => (svc(r, 1).image = image));
      expect(issues).toEqual([
        {
          path: 'spec.services[1].image',
          value: image,
          message: expect.stringMatching(/^image must name a tag or a digest \(e\.g\. ".*:1\.2\.3"/),
        },
      ]);
    },
  );

  test('upgrade.maxUnavailable greater than the number of instances', () => {
    const issues = issuesOf((r) => {
      svc(r, 1).instances!.push({ host: 'ctl1', port: 18112 });
      svc(r, 1).upgrade = { maxUnavailable: 3 };
    });
    expect(issues).toEqual([
      {
        path: 'spec.services[1].upgrade.maxUnavailable',
        value: 3,
        message: expect.stringContaining("(3) is greater than the service's 2 instance(s); use at most 2"),
      },
    ]);
  });

  test('health.interval longer than health.timeout', () => {
    const issues = issuesOf((r) => (svc(r, 0).health = { http: {}, timeout: '30s', interval: '1m' }));
    expect(issues).toEqual([
      {
        path: 'spec.services[0].health.interval',
        value: 60_000,
        message: expect.stringContaining('health.interval (1m) is longer than health.timeout (30s)'),
      },
    ]);
  });

  test('a secret-looking plain env key with a literal value: moved to secretEnv, value never shown', () => {
    const issues = issuesOf((r) => (svc(r, 1).env = { PORT: '{{port}}', Db_Password: 'hunter2' }));
    expect(issues).toEqual([
      {
        path: 'spec.services[1].env.Db_Password',
        value: REDACTED,
        message: expect.stringMatching(
          /move it to secretEnv as "env:NAME" or "file:\/path".*workflow history/,
        ),
      },
    ]);
    expect(JSON.stringify(issues)).not.toContain('hunter2');
  });

  test.each(['ADMIN_PASSWORD', 'app_secret', 'AUTH_TOKEN', 'TLS_PRIVATE_KEY', 'OPENAI_API_KEY'])(
    'secret-looking name %s is caught',
    (name) => {
      const issues = issuesOf((r) => (svc(r, 0).env = { [name]: 'literal' }));
      expect(issues.map((i) => i.path)).toEqual([`spec.services[0].env.${name}`]);
    },
  );

  test('a key in both env and secretEnv', () => {
    const issues = issuesOf((r) => {
      svc(r, 0).env = { DB_HOST: 'db.local' };
      svc(r, 0).secretEnv = { DB_HOST: 'env:DB_HOST' };
    });
    expect(issues).toEqual([
      {
        path: 'spec.services[0].env.DB_HOST',
        value: 'db.local',
        message: '"DB_HOST" is set in both env and secretEnv; keep only one (secretEnv if it is a secret)',
      },
    ]);
  });

  test('every problem is reported, not just the first', () => {
    const issues = issuesOf((r) => {
      svc(r, 0).image = 'nginx';
      svc(r, 2).dependsOn = ['nosuch'];
    });
    expect(issues.map((i) => i.path)).toEqual(['spec.services[0].image', 'spec.services[2].dependsOn[0]']);
  });
});

describe('dependencyLevels', () => {
  test('level 0 has no dependencies; each level is sorted by name', () => {
    expect(
      dependencyLevels([
        { name: 'web', dependsOn: ['api'] },
        { name: 'api', dependsOn: ['db', 'mq'] },
        { name: 'mq', dependsOn: [] },
        { name: 'db', dependsOn: [] },
        { name: 'cron', dependsOn: ['db'] },
      ]),
    ).toEqual([['db', 'mq'], ['api', 'cron'], ['web']]);
  });

  test('dependencies on services not in the list are ignored', () => {
    expect(
      dependencyLevels([
        { name: 'web', dependsOn: ['api', 'gone'] },
        { name: 'api', dependsOn: ['db'] },
      ]),
    ).toEqual([['api'], ['web']]);
  });

  test('an empty list has no levels; a cycle (never in a validated record) throws', () => {
    expect(dependencyLevels([])).toEqual([]);
    expect(() =>
      dependencyLevels([
        { name: 'a', dependsOn: ['b'] },
        { name: 'b', dependsOn: ['a'] },
      ]),
    ).toThrow('dependency cycle among services: a, b');
  });
});

describe('load balancers and jobs', () => {
  const base = (): Record<string, unknown> => ({
    apiVersion: 'patchbay/v1',
    kind: 'Cloud',
    metadata: { name: 'lab' },
    spec: {
      runtime: { docker: { hosts: [{ name: 'ctl1' }] } },
      loadBalancers: [{ name: 'front', haproxy: { runtimeApi: 'unix:///run/haproxy/admin.sock' } }],
      services: [
        {
          name: 'keystone',
          image: 'patchbay/keystone:1',
          instances: [
            { host: 'ctl1', port: 15001, lb: { balancer: 'front', backend: 'keystone', server: 'ks1' } },
            { host: 'ctl1', port: 15002, lb: { balancer: 'front', backend: 'keystone', server: 'ks2' } },
          ],
          health: { http: { path: '/v3' } },
          jobs: { before: [{ name: 'db-sync', command: ['db-sync'] }] },
        },
      ],
    },
  });
  type Rec = {
    spec: {
      services: Array<{
        instances: Array<{ lb: Record<string, string> }>;
        jobs: { before: Array<Record<string, unknown>> };
      }>;
    };
  };

  test('a valid record with a balancer and a job passes, with job defaults filled', () => {
    const result = validateRecord(base());
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.record.spec.services[0]?.jobs.before[0]).toMatchObject({
        timeout: 300_000,
        on: ['create', 'patch', 'update'],
        env: {},
      });
      expect(result.record.spec.loadBalancers[0]?.haproxy.drainTimeout).toBe(30_000);
    }
  });

  test('an unknown balancer is named with the declared ones', () => {
    const input = base() as unknown as Rec;
    input.spec.services[0]!.instances[1]!.lb.balancer = 'back';
    const result = validateRecord(input);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.issues).toEqual([
        expect.objectContaining({
          path: 'spec.services[0].instances[1].lb.balancer',
          value: 'back',
          message: expect.stringContaining('"front"'),
        }),
      ]);
    }
  });

  test('two instances behind one server are refused', () => {
    const input = base() as unknown as Rec;
    input.spec.services[0]!.instances[1]!.lb.server = 'ks1';
    const result = validateRecord(input);
    expect(!result.ok && result.issues.map((i) => i.path)).toEqual([
      'spec.services[0].instances[1].lb.server',
    ]);
  });

  test('a job on an unknown host, and a secret in a job env', () => {
    const input = base() as unknown as Rec;
    input.spec.services[0]!.jobs.before[0]!.host = 'ctl9';
    input.spec.services[0]!.jobs.before[0]!.env = { ADMIN_PASSWORD: 'hunter2' };
    const result = validateRecord(input);
    expect(!result.ok && result.issues.map((i) => `${i.path} ${String(i.value)}`)).toEqual([
      'spec.services[0].jobs.before[0].host ctl9',
      'spec.services[0].jobs.before[0].env.ADMIN_PASSWORD <redacted>',
    ]);
  });
});

describe('migrations', () => {
  const withMigrations = (migrations: Record<string, unknown>): CloudRecordInput => {
    const r = input();
    svc(r, 1).migrations = migrations as ServiceInput['migrations'];
    return r;
  };
  const step = (name: string) => ({ command: ['keystone-manage', 'db_sync', `--${name}`] });
  const issues = (migrations: Record<string, unknown>): string[] => {
    const result = validateRecord(withMigrations(migrations));
    if (result.ok) throw new Error('expected the record to be invalid');
    return result.issues.map((i) => `${i.path} ${JSON.stringify(i.value)}: ${i.message}`);
  };

  test('a valid one passes, each phase a job with its defaults; contract approval defaults to auto', () => {
    const result = validateRecord(
      withMigrations({
        database: { service: 'db', name: 'keystone' },
        check: step('check'),
        expand: step('expand'),
        contract: { ...step('contract'), approval: 'manual' },
      }),
    );
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    const m = result.record.spec.services[1]!.migrations!;
    expect(m.expand).toEqual({ command: step('expand').command, env: {}, secretEnv: {}, timeout: 300_000 });
    expect(m.contract?.approval).toBe('manual');
    expect(m.migrate).toBeUndefined();
    const auto = validateRecord(
      withMigrations({ database: { service: 'db', name: 'keystone' }, contract: step('contract') }),
    );
    expect(auto.ok && auto.record.spec.services[1]!.migrations!.contract?.approval).toBe('auto');
  });

  test('the database must be another service of the record that this one depends on', () => {
    expect(issues({ database: { service: 'api', name: 'keystone' }, expand: step('expand') })).toEqual([
      'spec.services[1].migrations.database.service "api": the database must be another service\'s (the one that hosts it), not "api" itself',
    ]);
    expect(issues({ database: { service: 'mariadb', name: 'keystone' }, expand: step('expand') })).toEqual([
      'spec.services[1].migrations.database.service "mariadb": unknown service "mariadb"; known services: "db", "api", "web"',
    ]);
    expect(issues({ database: { service: 'web', name: 'keystone' }, expand: step('expand') })).toEqual([
      'spec.services[1].migrations.database.service "web": "api" migrates a database of "web" but does not depend on it; add "web" to spec.services[1].dependsOn so the database runs (and changes) first',
    ]);
  });

  test('a phase to run, a database name, known fields: each refused where it is', () => {
    expect(issues({ database: { service: 'db', name: 'keystone' }, check: step('check') })).toEqual([
      'spec.services[1].migrations ["database","check"]: migrations name no phase to run: give at least one of expand, migrate and contract',
    ]);
    const bad = issues({
      database: { service: 'db', name: 'key-stone' },
      expand: { ...step('expand'), on: ['patch'] },
      contract: { ...step('contract'), approval: 'later' },
    });
    expect(bad).toEqual([
      expect.stringMatching(
        /^spec\.services\[1\]\.migrations\.database\.name "key-stone": must be a database name/,
      ),
      'spec.services[1].migrations.expand.on ["patch"]: unknown field "on"; allowed here: image, command, host, env, secretEnv, timeout',
      expect.stringMatching(
        /^spec\.services\[1\]\.migrations\.contract\.approval "later": .*"auto"\|"manual"/,
      ),
    ]);
  });

  test('phases obey the rules of jobs: declared hosts, no secret-looking env, job placeholders only', () => {
    expect(
      issues({
        database: { service: 'db', name: 'keystone' },
        expand: { ...step('expand'), host: 'ctl9', env: { DB_PASSWORD: 'hunter2', AT: '{{port}}' } },
      }),
    ).toEqual([
      expect.stringMatching(/^spec\.services\[1\]\.migrations\.expand\.host "ctl9": unknown host "ctl9"/),
      expect.stringMatching(
        /^spec\.services\[1\]\.migrations\.expand\.env\.DB_PASSWORD "<redacted>": "DB_PASSWORD" looks like a secret/,
      ),
      expect.stringMatching(/^spec\.services\[1\]\.migrations\.expand\.env\.AT "\{\{port\}\}": /),
    ]);
  });

  test('a snapshot: defaults filled in, a restore command required, an absolute directory, the job rules', () => {
    const snapshot = {
      command: ['mariadb-dump', '--databases', 'keystone'],
      restore: { command: ['mariadb'] },
    };
    const result = validateRecord(
      withMigrations({ database: { service: 'db', name: 'keystone' }, snapshot, expand: step('expand') }),
    );
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    expect(result.record.spec.services[1]!.migrations!.snapshot).toEqual({
      ...snapshot,
      env: {},
      secretEnv: {},
      timeout: 300_000,
      directory: '/var/lib/patchbay/snapshots',
      keep: 3,
    });
    expect(
      issues({
        database: { service: 'db', name: 'keystone' },
        expand: step('expand'),
        snapshot: {
          command: ['dump'],
          directory: 'snapshots',
          keep: 0,
          host: 'ctl9',
          env: { MYSQL_PWD: 'x' },
        },
      }),
    ).toEqual([
      expect.stringMatching(
        /^spec\.services\[1\]\.migrations\.snapshot\.directory "snapshots": must be an absolute path/,
      ),
      expect.stringMatching(/^spec\.services\[1\]\.migrations\.snapshot\.keep 0: /),
      expect.stringMatching(/^spec\.services\[1\]\.migrations\.snapshot\.restore undefined: /),
    ]);
    // Once the shape is right, the rules of jobs: a declared host, no secret-looking env.
    expect(
      issues({
        database: { service: 'db', name: 'keystone' },
        expand: step('expand'),
        snapshot: { ...snapshot, host: 'ctl9', env: { MYSQL_PWD: 'x' } },
      }),
    ).toEqual([
      expect.stringMatching(/^spec\.services\[1\]\.migrations\.snapshot\.host "ctl9": unknown host/),
      expect.stringMatching(/^spec\.services\[1\]\.migrations\.snapshot\.env\.MYSQL_PWD "<redacted>": /),
    ]);
  });
});
