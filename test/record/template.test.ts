// The one template renderer (src/record/template.ts): what each runtime fills, and what validation
// refuses because no runtime can fill it.
import type { InstanceSpec, ServiceSpec } from '../../src/record/schema';
import { Service } from '../../src/record/schema';
import { instanceTemplateValues } from '../../src/record/identity';
import { placeholdersIn, renderTemplate } from '../../src/record/template';
import { validateRecord } from '../../src/record/validate';
import { deploymentFor, podTemplateValues } from '../../src/runtime/kubernetes';
import { fastRecordInput } from '../support/fastRecords';

const service: ServiceSpec = Service.parse({
  name: 'api',
  image: 'x/api:v1',
  instances: [{ host: 'ctl1', port: 18111 }],
  health: { http: { path: '/h' } },
});
const instance = service.instances[0] as InstanceSpec;

describe('renderTemplate', () => {
  test('Docker: an instance fills port, host, instance and service literally', () => {
    const values = instanceTemplateValues(service, instance);
    expect(renderTemplate('{{service}}@{{host}}:{{port}} ({{ instance }})', values)).toBe(
      'api@ctl1:18111 (ctl1-18111)',
    );
  });

  test('leaves unknown placeholders as written, including inherited object keys', () => {
    expect(renderTemplate('{{nope}} {{constructor}} {{toString}}', { service: 'api' })).toBe(
      '{{nope}} {{constructor}} {{toString}}',
    );
    expect(placeholdersIn('{{a}} x {{ b }}')).toEqual(['a', 'b']);
  });

  test('Kubernetes: the same placeholders in env and command; pod name and node through the downward API', () => {
    const k8s = Service.parse({
      name: 'keystone',
      image: 'x/keystone:v1',
      replicas: 2,
      port: 5000,
      env: { PUBLIC: 'http://{{host}}:{{port}}', ID: '{{service}}/{{instance}}' },
      command: ['serve', '--name={{instance}}', '--port={{port}}'],
      health: { http: { path: '/v3' } },
    });
    const container = deploymentFor('east', k8s, 1, { previous: null, secretKeys: [] }).spec!.template.spec!
      .containers[0]!;
    expect(container.command).toEqual(['serve', '--name=$(PATCHBAY_POD_NAME)', '--port=5000']);
    // The referenced variables come first: Kubernetes expands $(VAR) only from variables before it.
    expect(container.env).toEqual([
      { name: 'PATCHBAY_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'PATCHBAY_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
      { name: 'PUBLIC', value: 'http://$(PATCHBAY_NODE_NAME):5000' },
      { name: 'ID', value: 'keystone/$(PATCHBAY_POD_NAME)' },
    ]);
    expect(podTemplateValues(k8s)).toMatchObject({ port: '5000', service: 'keystone' });
  });

  test('Kubernetes: a service that names neither host nor instance gets no extra variables', () => {
    const plain = Service.parse({
      name: 'glance',
      image: 'x/glance:v1',
      replicas: 1,
      port: 9292,
      env: { PORT: '{{port}}' },
      health: { http: { path: '/' } },
    });
    const container = deploymentFor('east', plain, 1, { previous: null, secretKeys: [] }).spec!.template.spec!
      .containers[0]!;
    expect(container.env).toEqual([{ name: 'PORT', value: '9292' }]);
  });
});

describe('validation of placeholders', () => {
  const issuesOf = (edit: (record: ReturnType<typeof fastRecordInput>) => void) => {
    const input = fastRecordInput('tpl', { api: { image: 'x/api:v1', ports: [8001] } });
    edit(input);
    const result = validateRecord(input);
    return result.ok ? [] : result.issues.map((i) => `${i.path}: ${i.message}`);
  };
  const api = (r: ReturnType<typeof fastRecordInput>) =>
    (r.spec as { services: Array<Record<string, unknown>> }).services[0] as Record<string, unknown>;

  test('the four placeholders are accepted in env and command', () => {
    expect(
      issuesOf((r) => {
        api(r).env = { A: '{{port}} {{host}} {{instance}} {{service}}' };
        api(r).command = ['run', '{{instance}}'];
      }),
    ).toEqual([]);
  });

  test('an unknown placeholder is refused with its path', () => {
    expect(
      issuesOf((r) => {
        api(r).env = { A: 'http://{{hots}}:{{port}}' };
        api(r).command = ['run', '{{pod}}'];
      }),
    ).toEqual([
      "spec.services[0].env.A: unknown placeholder {{hots}}: a service's env can use {{port}}, {{host}}, {{instance}}, {{service}}",
      "spec.services[0].command[1]: unknown placeholder {{pod}}: a service's command can use {{port}}, {{host}}, {{instance}}, {{service}}",
    ]);
  });

  test('a job is not an instance: only {{service}} is filled there', () => {
    expect(
      issuesOf((r) => {
        api(r).jobs = {
          before: [{ name: 'sync', command: ['sync', '{{service}}', '{{port}}'], env: { H: '{{host}}' } }],
        };
      }),
    ).toEqual([
      'spec.services[0].jobs.before[0].env.H: unknown placeholder {{host}}: a job (not an instance) can use {{service}}',
      'spec.services[0].jobs.before[0].command[2]: unknown placeholder {{port}}: a job (not an instance) can use {{service}}',
    ]);
  });
});
