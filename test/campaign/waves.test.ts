import { planWaves } from '../../src/campaign/waves';
import { parseCampaignText } from '../../src/client/campaignClient';
import type { PatchbayError } from '../../src/lib/errors';

const sizes = (n: number, waves: Parameters<typeof planWaves>[1]) =>
  planWaves(n, waves).map((w) => [w.name, w.end - w.start]);
const wave = (size: number | string, approval = false) =>
  ({ size, approval }) as Parameters<typeof planWaves>[1][number];

test('canary, a percentage, then the rest', () => {
  expect(sizes(12, [wave(1), wave('25%'), wave('rest')])).toEqual([
    ['canary', 1],
    ['wave 2', 3],
    ['wave 3', 8],
  ]);
});

test('clouds left after the last wave form a final "rest" wave; waves past the end are dropped', () => {
  expect(sizes(5, [wave(2), wave(2)])).toEqual([
    ['canary', 2],
    ['wave 2', 2],
    ['rest', 1],
  ]);
  expect(sizes(2, [wave(1), wave(5), wave('rest')])).toEqual([
    ['canary', 1],
    ['wave 2', 1],
  ]);
});

test('a percentage rounds up and is never 0; 10,000 clouds in 1 / 10% / rest', () => {
  expect(sizes(3, [wave('10%'), wave('rest')])).toEqual([
    ['canary', 1],
    ['wave 2', 2],
  ]);
  expect(sizes(10_000, [wave(1), wave('10%'), wave('rest')])).toEqual([
    ['canary', 1],
    ['wave 2', 1000],
    ['wave 3', 8999],
  ]);
});

test('an empty fleet has no waves', () => {
  expect(planWaves(0, [wave('rest')])).toEqual([]);
});

const VALID = `apiVersion: patchbay/v1
kind: Campaign
metadata: { name: keystone-fix }
spec:
  clouds: { names: [east-1, east-2], selector: { matchLabels: { tier: prod } } }
  service: keystone
  image: patchbay/keystone:22.0.2-0-deb12u6
  waves: [{ name: canary, size: 1 }, { size: 10% }, { size: rest, approval: true }]
  concurrency: 4
  bake: 10m
  failureBudget: { perWave: 1, total: 2, onExceeded: rollback }
`;

test('a valid spec is normalised (durations in ms, defaults filled)', () => {
  const spec = parseCampaignText(VALID, 'c.yaml');
  expect(spec.spec.bake).toBe(600_000);
  expect(spec.spec.busy).toEqual({ action: 'retry', retries: 10, interval: 30_000 });
  expect(spec.spec.waves[2]).toEqual({ size: 'rest', approval: true });
});

test('every problem is named with file:line, path and value', () => {
  const text = VALID.replace('size: 10%', 'size: ten')
    .replace('concurrency: 4', 'concurrency: 0')
    .replace('image: patchbay/keystone:22.0.2-0-deb12u6', 'image: patchbay/keystone');
  let error: PatchbayError | undefined;
  try {
    parseCampaignText(text, 'c.yaml');
  } catch (e) {
    error = e as PatchbayError;
  }
  expect(error?.code).toBe('INVALID_RECORD');
  expect(error?.message).toBe('c.yaml: 3 problems in the campaign spec');
  expect(error?.details.issues).toEqual([
    expect.objectContaining({
      line: 7,
      path: 'spec.image',
      value: 'patchbay/keystone',
      message: expect.stringMatching(/tag or digest/),
    }),
    expect.objectContaining({ line: 8, path: 'spec.waves[1].size', value: 'ten' }),
    expect.objectContaining({ line: 9, path: 'spec.concurrency', value: 0 }),
  ]);
});

test('clouds must be named or selected; unknown fields are refused', () => {
  const text = VALID.replace(/ {2}clouds: .*\n/, '  clouds: {}\n').replace('concurrency: 4', 'concurency: 4');
  let error: PatchbayError | undefined;
  try {
    parseCampaignText(text, 'c.yaml');
  } catch (e) {
    error = e as PatchbayError;
  }
  const messages = (error?.details.issues ?? []).map((i) => `${i.path}: ${i.message}`);
  expect(messages).toEqual([
    expect.stringMatching(/^spec.clouds: name the clouds, or give a selector/),
    expect.stringMatching(/^spec.concurency: unknown field "concurency"; allowed here: .*concurrency/),
  ]);
});

test('clouds by what they run: running narrows to clouds whose service runs (or does not run) an image', () => {
  const exposed = parseCampaignText(
    VALID.replace(/ {2}clouds: .*\n/, '  clouds: { running: { notAtTarget: true } }\n'),
    'c.yaml',
  );
  expect(exposed.spec.clouds).toEqual({ names: [], running: { notAtTarget: true } });
  const vulnerable = parseCampaignText(
    VALID.replace(
      / {2}clouds: .*\n/,
      '  clouds: { selector: { matchLabels: { tier: prod } }, running: { service: keystone, image: [a/k:1, a/k:2] } }\n',
    ),
    'c.yaml',
  );
  expect(vulnerable.spec.clouds.running).toEqual({ service: 'keystone', image: ['a/k:1', 'a/k:2'] });
});

test('a running selector that says nothing, or two contrary things, is refused with its path and value', () => {
  const issues = (clouds: string) => {
    try {
      parseCampaignText(VALID.replace(/ {2}clouds: .*\n/, `  clouds: ${clouds}\n`), 'c.yaml');
    } catch (e) {
      return (
        (e as PatchbayError).details.issues as Array<{ path: string; message: string; value?: unknown }>
      ).map((i) => ({ path: i.path, message: i.message, value: i.value }));
    }
    return [];
  };
  expect(issues('{ running: { service: keystone } }')).toEqual([
    expect.objectContaining({
      path: 'spec.clouds.running',
      message: expect.stringMatching(/image, imageNot or notAtTarget/),
    }),
  ]);
  expect(issues('{ running: { imageNot: a/k:1, notAtTarget: true } }')).toEqual([
    expect.objectContaining({ path: 'spec.clouds.running', message: expect.stringMatching(/not both/) }),
  ]);
  expect(issues('{ running: { notAtTarget: false } }')).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ path: 'spec.clouds.running.notAtTarget', value: false }),
    ]),
  );
  expect(issues('{ running: { images: [a/k:1] } }')).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ message: expect.stringMatching(/unknown field "images"/) }),
    ]),
  );
});
