import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { PatchbayError, type RecordIssue } from '../../src/lib/errors';
import { recordJsonSchema } from '../../src/record/jsonSchema';
import { loadRecordFile, parseRecordText } from '../../src/record/load';

const ROOT = path.join(__dirname, '..', '..');
const EXAMPLE = path.join(ROOT, 'examples', 'lab.yaml');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'records');

function failure(run: () => unknown): PatchbayError {
  try {
    run();
  } catch (error) {
    if (error instanceof PatchbayError) return error;
    throw error;
  }
  throw new Error('expected a PatchbayError');
}

function issuesOf(text: string, file = 'lab.yaml'): RecordIssue[] {
  const error = failure(() => parseRecordText(text, file));
  expect(error.code).toBe('INVALID_RECORD');
  return error.details.issues ?? [];
}

/** A valid record with one line replaced, so the tests can say which line a problem is on. */
const VALID = `apiVersion: patchbay/v1
kind: Cloud
metadata:
  name: lab
spec:
  runtime:
    docker:
      hosts:
        - name: ctl1
  services:
    - name: db
      image: patchbay/fixture:v1
      instances:
        - { host: ctl1, port: 18101 }
      health:
        http: { path: /health }
`;

function withLine(line: number, text: string): string {
  const lines = VALID.split('\n');
  lines.splice(line - 1, 1, text);
  return lines.join('\n');
}

describe('loadRecordFile', () => {
  test('examples/lab.yaml is a valid record, normalised', () => {
    const record = loadRecordFile(EXAMPLE);
    expect(record.metadata.name).toBe('lab');
    expect(record.spec.runtime.docker.hosts).toEqual([
      { name: 'ctl1', endpoint: 'unix:///var/run/docker.sock', address: '127.0.0.1', reach: 'direct' },
    ]);
    expect(record.spec.services.map((s) => [s.name, s.dependsOn, s.instances.map((i) => i.port)])).toEqual([
      ['db', [], [18101]],
      ['api', ['db'], [18111, 18112, 18113]],
      ['web', ['api'], [18121]],
    ]);
    const api = record.spec.services[1];
    expect(api?.image).toBe('patchbay/fixture:v1');
    expect(api?.env).toEqual({ PORT: '{{port}}' });
    expect(api?.health).toEqual({
      http: { path: '/health', expectStatus: 200 },
      timeout: 10_000,
      interval: 500,
    });
    expect(api?.upgrade).toEqual({
      strategy: 'rolling',
      maxUnavailable: 1,
      maxSurge: 1,
      bake: 2_000,
      onFailure: 'rollback',
    });
  });

  test('a minimal record gets every default', () => {
    const [db] = loadRecordFile(path.join(FIXTURES, 'minimal.yaml')).spec.services;
    expect(db).toEqual({
      name: 'db',
      image: 'patchbay/fixture:v1',
      dependsOn: [],
      instances: [{ host: 'ctl1', port: 18101 }],
      env: {},
      secretEnv: {},
      volumes: [],
      health: { http: { path: '/', expectStatus: 200 }, timeout: 60_000, interval: 1_000 },
      upgrade: { strategy: 'rolling', maxUnavailable: 1, maxSurge: 1, bake: 0, onFailure: 'rollback' },
      stopGracePeriod: 10_000,
      jobs: { before: [], after: [] },
    });
  });

  test('every problem, with file, line and column, in file order', () => {
    const file = path.join(FIXTURES, 'two-problems.yaml');
    const error = failure(() => loadRecordFile(file));
    expect(error.code).toBe('INVALID_RECORD');
    expect(error.message).toBe(`${file}: 2 problems in the deployment record`);
    expect(error.details.issues).toEqual([
      {
        file,
        line: 12,
        column: 14,
        path: 'spec.services[0].image',
        value: 'patchbay/fixture',
        message: expect.stringContaining('tag or a digest'),
      },
      {
        file,
        line: 13,
        column: 23,
        path: 'spec.services[0].dependsOn[1]',
        value: 'nosuch',
        message: 'depends on unknown service "nosuch"; known services: "api", "db"',
      },
    ]);
  });

  test('a missing file is INVALID_INPUT naming the path', () => {
    const error = failure(() => loadRecordFile('/nonexistent/cloud.yaml'));
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toBe('cannot read record file /nonexistent/cloud.yaml: no such file');
  });

  test('a directory is INVALID_INPUT with the reason', () => {
    const error = failure(() => loadRecordFile(FIXTURES));
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toMatch(new RegExp(`^cannot read record file ${FIXTURES}: .*EISDIR`));
  });

  test('reads from disk: a record written to a temporary file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'patchbay-record-'));
    try {
      writeFileSync(path.join(dir, 'cloud.yaml'), VALID);
      expect(loadRecordFile(path.join(dir, 'cloud.yaml')).metadata.name).toBe('lab');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('parseRecordText: YAML problems', () => {
  test('a syntax error has a line number', () => {
    const issues = issuesOf(
      'apiVersion: patchbay/v1\nkind: Cloud\nmetadata: { name: x\nspec: {}\n',
      'broken.yaml',
    );
    expect(issues[0]).toMatchObject({ file: 'broken.yaml', line: 4, path: '(yaml syntax)' });
    expect(issues[0]?.message).toMatch(/flow map/i);
  });

  test('a duplicate key is an error at its line', () => {
    const issues = issuesOf(withLine(5, 'kind: Cloud\nspec:'));
    expect(issues).toEqual([
      { file: 'lab.yaml', line: 5, column: 1, path: '(yaml syntax)', message: 'Map keys must be unique' },
    ]);
  });

  test('two documents in one file', () => {
    const issues = issuesOf(`${VALID}---\n${VALID}`);
    expect(issues).toEqual([
      expect.objectContaining({ line: 17, message: expect.stringContaining('exactly one document') }),
    ]);
  });

  test('an empty file', () => {
    const error = failure(() => parseRecordText(''));
    expect(error.message).toBe('<record>: 1 problem in the deployment record');
    expect(error.details.issues).toEqual([
      {
        file: '<record>',
        path: '(root)',
        value: null,
        message: expect.stringContaining('the record is empty'),
      },
    ]);
  });
});

describe('parseRecordText: where a problem is', () => {
  test('a semantic error points at the offending scalar', () => {
    const issues = issuesOf(withLine(14, '        - { host: ctl9, port: 18101 }'));
    expect(issues).toEqual([
      expect.objectContaining({
        line: 14,
        column: 19,
        path: 'spec.services[0].instances[0].host',
        value: 'ctl9',
      }),
    ]);
  });

  test('a schema error points at the value', () => {
    const issues = issuesOf(withLine(14, '        - { host: ctl1, port: eighty }'));
    expect(issues).toEqual([
      expect.objectContaining({
        line: 14,
        column: 31,
        path: 'spec.services[0].instances[0].port',
        value: 'eighty',
      }),
    ]);
  });

  test('an unknown field points at its line', () => {
    const issues = issuesOf(withLine(12, '      image: patchbay/fixture:v1\n      replicaCount: 3'));
    expect(issues).toEqual([
      expect.objectContaining({ line: 13, path: 'spec.services[0].replicaCount', value: 3 }),
    ]);
    expect(issues[0]?.message).toContain('unknown field "replicaCount"');
  });

  test('a wrong nested value points at its key', () => {
    const issues = issuesOf(withLine(14, '          host: ctl1'));
    expect(issues).toEqual([
      expect.objectContaining({
        line: 13,
        column: 7,
        path: 'spec.services[0].instances',
        value: { host: 'ctl1' },
      }),
    ]);
  });

  test('a missing field points at the nearest parent that exists', () => {
    const issues = issuesOf(withLine(12, '      # no image'));
    expect(issues).toEqual([
      expect.objectContaining({ line: 11, column: 7, path: 'spec.services[0].image', value: undefined }),
    ]);
    expect(issues[0]?.message).toBe('missing required field "image" (string)');
  });

  test('keys containing dots still resolve to their line', () => {
    const issues = issuesOf(
      withLine(4, '  name: lab\n  labels:\n    app.kubernetes.io/name: lab\n    tier.v2: 2'),
    );
    expect(issues).toEqual([
      expect.objectContaining({ line: 7, column: 14, path: 'metadata.labels.tier.v2', value: 2 }),
    ]);
  });

  test('a secret in plain env is located but never echoed', () => {
    const text = withLine(16, '        http: { path: /health }\n      env:\n        DB_PASSWORD: hunter2');
    const error = failure(() => parseRecordText(text, 'lab.yaml'));
    expect(error.details.issues).toEqual([
      expect.objectContaining({
        line: 18,
        column: 22,
        path: 'spec.services[0].env.DB_PASSWORD',
        value: '<redacted>',
      }),
    ]);
    expect(JSON.stringify(error)).not.toContain('hunter2');
    expect(error.message).not.toContain('hunter2');
  });
});

/** Just enough JSON Schema (type, required, properties, additionalProperties, items) to check a document. */
function schemaErrors(schema: Record<string, unknown>, value: unknown, at = '$'): string[] {
  if (Array.isArray(schema.anyOf)) {
    const ok = schema.anyOf.some((s) => schemaErrors(s as Record<string, unknown>, value, at).length === 0);
    return ok ? [] : [`${at}: matches no alternative`];
  }
  const type = schema.type;
  if (type === 'object') {
    if (!value || typeof value !== 'object' || Array.isArray(value)) return [`${at}: expected object`];
    const obj = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
    const errors = ((schema.required ?? []) as string[])
      .filter((k) => !(k in obj))
      .map((k) => `${at}.${k}: missing`);
    for (const [k, v] of Object.entries(obj)) {
      const sub = props[k] ?? (schema.additionalProperties as Record<string, unknown> | false | undefined);
      if (sub === false) errors.push(`${at}.${k}: not allowed`);
      else if (sub) errors.push(...schemaErrors(sub, v, `${at}.${k}`));
    }
    return errors;
  }
  if (type === 'array') {
    if (!Array.isArray(value)) return [`${at}: expected array`];
    return value.flatMap((v, i) => schemaErrors(schema.items as Record<string, unknown>, v, `${at}[${i}]`));
  }
  if (type === 'integer') return Number.isInteger(value) ? [] : [`${at}: expected integer`];
  if (typeof type === 'string' && typeof value !== type) return [`${at}: expected ${type}`];
  return [];
}

describe('recordJsonSchema', () => {
  const schema = recordJsonSchema() as Record<string, unknown>;

  test('has an id, a title and the top-level fields', () => {
    expect(schema).toMatchObject({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: expect.any(String),
      title: expect.stringContaining('Patchbay'),
      type: 'object',
      required: ['apiVersion', 'kind', 'metadata', 'spec'],
      additionalProperties: false,
    });
    expect(Object.keys(schema.properties as object)).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
  });

  test('describes the input: durations as text or ms, defaulted fields optional', () => {
    type Node = { properties: Record<string, Node>; items: Node; required?: string[]; anyOf?: unknown[] };
    const service = (schema as unknown as Node).properties.spec!.properties.services!.items;
    expect(service.required).toEqual(['name', 'image', 'health']);
    expect(service.properties.health?.properties.timeout?.anyOf).toEqual([
      expect.objectContaining({ type: 'integer' }),
      { type: 'string', pattern: '^\\d+(\\.\\d+)?(ms|s|m|h)$' },
    ]);
  });

  test('accepts examples/lab.yaml as written, and catches an unknown field', () => {
    const example = parse(readFileSync(EXAMPLE, 'utf8')) as { spec: { services: Record<string, unknown>[] } };
    expect(schemaErrors(schema, example)).toEqual([]);
    (example.spec.services[0] as Record<string, unknown>).replicaCount = 3;
    expect(schemaErrors(schema, example)).toEqual(['$.spec.services[0].replicaCount: not allowed']);
  });

  test('schema/cloud-record.schema.json is up to date (npx tsx scripts/write-json-schema.ts)', () => {
    const committed: unknown = JSON.parse(
      readFileSync(path.join(ROOT, 'schema', 'cloud-record.schema.json'), 'utf8'),
    );
    expect(committed).toEqual(schema);
  });
});
