import type { ServiceSpec } from '../../src/record/schema';
import {
  activeContainerName,
  canonicalJson,
  fnv1a64,
  imageHasTagOrDigest,
  imageVersion,
  instanceId,
  instanceSpecHash,
  retiredContainerName,
} from '../../src/record/identity';

const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;

function spec(extra: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    name: 'api',
    image: 'patchbay/fixture:v1',
    dependsOn: [],
    instances: [{ host: 'ctl1', port: 18111 }],
    env: { PORT: '{{port}}', MODE: 'x' },
    secretEnv: { DB_PASSWORD: 'env:DB_PASSWORD' },
    volumes: [],
    health: { http: { path: '/health', expectStatus: 200 }, timeout: 30_000, interval: 500 },
    upgrade: { strategy: 'rolling', maxUnavailable: 1, maxSurge: 1, bake: 0, onFailure: 'rollback' },
    stopGracePeriod: 10_000,
    jobs: { before: [], after: [] },
    config: {},
    ...extra,
  };
}
const instance = { host: 'ctl1', port: 18111 };

describe('names', () => {
  test('instance identity is host-port, independent of its position in the record', () => {
    expect(instanceId(instance)).toBe('ctl1-18111');
  });

  test('container names for active and retired containers', () => {
    expect(activeContainerName('lab', 'api', 'ctl1-18111')).toBe('pb-lab-api-ctl1-18111');
    expect(retiredContainerName('lab', 'api', 'ctl1-18111', 7)).toBe('pb-lab-api-ctl1-18111--retired-r7');
  });
});

describe('images', () => {
  test.each([
    ['patchbay/fixture:v1', 'v1'],
    ['registry.local:5000/patchbay/fixture:1.2.3', '1.2.3'],
    ['registry.local:5000/patchbay/fixture', 'latest'],
    ['nginx', 'latest'],
    [`patchbay/fixture@${DIGEST}`, 'sha256:0123456789ab'],
    [`patchbay/fixture:v1@${DIGEST}`, 'sha256:0123456789ab'],
  ])('imageVersion(%s) = %s', (image, version) => {
    expect(imageVersion(image)).toBe(version);
  });

  test.each([
    ['patchbay/fixture:v1', true],
    ['nginx:latest', true],
    [`patchbay/fixture@${DIGEST}`, true],
    ['registry.local:5000/patchbay/fixture:v1', true],
    ['nginx', false],
    ['patchbay/fixture', false],
    ['registry.local:5000/patchbay/fixture', false],
    ['patchbay/fixture:', false],
  ])('imageHasTagOrDigest(%s) = %s', (image, expected) => {
    expect(imageHasTagOrDigest(image)).toBe(expected);
  });
});

describe('hashing', () => {
  test('canonicalJson sorts keys at every depth and drops undefined fields', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[2,{"y":2,"z":1}]},"b":1}',
    );
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
  });

  test('fnv1a64 matches the reference test vectors', () => {
    expect(fnv1a64('')).toBe('cbf29ce484222325');
    expect(fnv1a64('a')).toBe('af63dc4c8601ec8c');
    expect(fnv1a64('foobar')).toBe('85944171f73967e8');
  });

  test('instanceSpecHash: same container shape, same hash, whatever the key order', () => {
    const reordered = spec({ env: { MODE: 'x', PORT: '{{port}}' } });
    expect(instanceSpecHash(reordered, instance)).toBe(instanceSpecHash(spec(), instance));
    expect(instanceSpecHash(spec(), instance)).toMatch(/^[0-9a-f]{16}$/);
  });

  test('instanceSpecHash changes with what shapes the container', () => {
    const base = instanceSpecHash(spec(), instance);
    expect(instanceSpecHash(spec({ image: 'patchbay/fixture:v2' }), instance)).not.toBe(base);
    expect(instanceSpecHash(spec({ env: { PORT: '{{port}}', MODE: 'y' } }), instance)).not.toBe(base);
    expect(instanceSpecHash(spec({ secretEnv: { DB_PASSWORD: 'env:OTHER' } }), instance)).not.toBe(base);
    expect(instanceSpecHash(spec({ command: ['httpd', '-f'] }), instance)).not.toBe(base);
    expect(instanceSpecHash(spec(), { host: 'ctl1', port: 18112 })).not.toBe(base);
  });

  test('instanceSpecHash ignores health and upgrade policy: changing them restarts nothing', () => {
    const base = instanceSpecHash(spec(), instance);
    const tuned = spec({
      health: { http: { path: '/ready', expectStatus: 204 }, timeout: 5_000, interval: 100 },
      upgrade: { strategy: 'rolling', maxUnavailable: 2, maxSurge: 0, bake: 9_000, onFailure: 'pause' },
      stopGracePeriod: 1_000,
    });
    expect(instanceSpecHash(tuned, instance)).toBe(base);
  });
});
