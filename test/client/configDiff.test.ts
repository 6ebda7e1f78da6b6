import { configChanges } from '../../src/client/configDiff';
import { renderPlan } from '../../src/client/render';
import type { ServiceSpec } from '../../src/record/schema';

const service = (config: ServiceSpec['config']): ServiceSpec =>
  ({ name: 'keystone', image: 'patchbay/keystone:1', config }) as unknown as ServiceSpec;

describe('config changes in a plan', () => {
  const before = service({
    '/etc/keystone/keystone.conf': {
      content:
        '[database]\nconnection = mysql://k:{{ secret "env:DB_PW" }}@db/k\n\n[token]\nexpiration = 3600\n',
      mode: '0640',
    },
    '/etc/keystone/old.yaml': { content: 'a: 1\n', mode: '0644' },
  });
  const after = service({
    '/etc/keystone/keystone.conf': {
      content:
        '[database]\nconnection = mysql://k:{{ secret "env:DB_PW" }}@db/k\n\n[token]\nexpiration = 7200\n',
      mode: '0640',
    },
    '/etc/keystone/policy.yaml': { content: '"identity:get_user": "rule:admin_required"\n', mode: '0600' },
    '/etc/keystone/old.yaml': { content: 'a: 1\n', mode: '0644', owner: '0:42' },
  });

  test('a unified diff per changed file, added and removed files, mode/owner notes; unchanged files left out', () => {
    const changes = configChanges(before, after);
    expect(changes.map((c) => [c.path, c.change, c.notes])).toEqual([
      ['/etc/keystone/keystone.conf', 'changed', []],
      ['/etc/keystone/old.yaml', 'changed', ['owner 0:0 -> 0:42']],
      ['/etc/keystone/policy.yaml', 'added', []],
    ]);
    expect(changes[0]!.diff).toContain(
      '--- a/etc/keystone/keystone.conf\n+++ b/etc/keystone/keystone.conf\n',
    );
    expect(changes[0]!.diff).toContain('-expiration = 3600\n+expiration = 7200');
    expect(changes[1]!.diff).toBe('');
    expect(changes[2]!.diff).toContain('--- /dev/null');
    expect(configChanges(after, after)).toEqual([]);
    expect(configChanges(after, null).map((c) => c.change)).toEqual(['removed', 'removed', 'removed']);
  });

  test('the plan shows the diff under its service; the secret stays a reference', () => {
    const text = renderPlan('lab', 3, [
      {
        service: 'keystone',
        action: 'update',
        fromVersion: '1',
        toVersion: '1',
        instances: [
          { instance: 'ctl1-5001', change: 'replace', why: '1, config changed: /etc/keystone/keystone.conf' },
        ],
        drift: [],
        config: configChanges(before, after).slice(0, 1),
      },
    ]);
    expect(text).toContain('      config   /etc/keystone/keystone.conf changed\n');
    expect(text).toContain('        -expiration = 3600\n        +expiration = 7200');
    expect(text).not.toMatch(/connection = [^\n]*\n[^\n]*\+connection/); // an unchanged line is context only
    expect(text).toContain('{{ secret "env:DB_PW" }}');
  });
});
