// Patchbay as a library: package.json "exports" (built: dist/), the same names from the sources
// (tsconfig "paths", which tsx and tsc follow), what `require('patchbay')` gives a script run with
// tsx, and the scripted launcher's own logic (examples/launch-campaign.ts).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { campaignFor, exposedClouds, parseLaunchArgs } from '../../examples/launch-campaign';
import { PROJECT_ROOT } from '../../src/lib/config';
import { planWaves } from '../../src/campaign/waves';
import * as lib from 'patchbay';
import * as campaign from 'patchbay/campaign';
import * as messages from 'patchbay/messages';
import * as record from 'patchbay/record';

const read = (file: string) => JSON.parse(readFileSync(path.join(PROJECT_ROOT, file), 'utf8'));

test('every export is a built file of dist/ whose source is the file tsconfig maps the same name to', () => {
  const pkg = read('package.json') as {
    exports: Record<string, string | { types: string; default: string }>;
    main: string;
    types: string;
  };
  const tsconfig = read('tsconfig.json') as { compilerOptions: { paths: Record<string, string[]> } };
  const subpaths = Object.keys(pkg.exports).filter((k) => k !== './package.json');
  expect(subpaths).toEqual(['.', './record', './campaign', './messages']);
  for (const subpath of subpaths) {
    const target = pkg.exports[subpath] as { types: string; default: string };
    expect(target.default).toMatch(/^\.\/dist\/.+\.js$/);
    expect(target.types).toBe(target.default.replace(/\.js$/, '.d.ts'));
    const source = target.default.replace(/^\.\/dist\//, './src/').replace(/\.js$/, '.ts');
    expect(existsSync(path.join(PROJECT_ROOT, source))).toBe(true);
    const name = subpath === '.' ? 'patchbay' : `patchbay/${subpath.slice(2)}`;
    expect(tsconfig.compilerOptions.paths[name]).toEqual([source]);
  }
  expect(pkg.main).toBe('dist/index.js');
  expect(pkg.types).toBe('dist/index.d.ts');
});

test('the library: clients, schemas and message definitions', () => {
  expect(typeof lib.PatchbayClient.connect).toBe('function');
  expect(typeof lib.CampaignClient).toBe('function');
  expect(typeof lib.temporalConfig).toBe('function');
  expect(typeof lib.CloudRecordSchema.parse).toBe('function');
  expect(typeof record.CloudRecordSchema.safeParse).toBe('function');
  expect(typeof record.loadRecordFile).toBe('function');
  expect(campaign.campaignWorkflowId('x')).toBe('campaign:x');
  expect(campaign.campaignCloudWorkflowId('x', 'east-1')).toBe('campaign:x:east-1');
  expect(messages.approveCampaignUpdate.name).toBe('patchbay.campaign.approve');
  expect(messages.applyUpdate.name).toBe('patchbay.apply');
  expect(messages.ApprovePayload.safeParse({ by: 'ops-bot', wave: 0 }).success).toBe(false);
});

test("a script run with tsx from the project gets the library from require('patchbay')", async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      '--require',
      'tsx/cjs',
      '-e',
      "const p = require('patchbay'); const c = require('patchbay/campaign'); const m = require('patchbay/messages'); " +
        'console.log(JSON.stringify([typeof p.PatchbayClient, typeof p.CampaignClient, typeof c.CampaignSpecSchema.parse, m.approveCampaignUpdate.name]))',
    ],
    { cwd: PROJECT_ROOT, timeout: 60_000 },
  );
  expect(JSON.parse(stdout)).toEqual(['function', 'function', 'function', 'patchbay.campaign.approve']);
}, 60_000);

const inventory = {
  service: 'keystone',
  clouds: 4,
  images: [
    {
      image: 'patchbay/keystone:22.0.2-0-deb12u3',
      version: '22.0.2-0-deb12u3',
      count: 2,
      clouds: ['eu-west-1', 'ap-south-1'],
    },
    {
      image: 'patchbay/keystone:22.0.2-0-deb12u6',
      version: '22.0.2-0-deb12u6',
      count: 1,
      clouds: ['us-east-1'],
    },
  ],
  without: { count: 1, clouds: ['edge-1'] },
};

test('the launcher picks exactly the clouds running an exposed image, and a canary-then-approval campaign for them', () => {
  const options = parseLaunchArgs([
    '--name',
    'keystone-cve',
    '--service',
    'keystone',
    '--running',
    'patchbay/keystone:22.0.2-0-deb12u3',
    '--image',
    'patchbay/keystone:22.0.2-0-deb12u6',
    '--label',
    'tier=prod',
    '--approval',
    '--bake',
    '10m',
  ]);
  expect(options).toMatchObject({ labels: { tier: 'prod' }, approval: true, json: false });
  const clouds = exposedClouds(inventory, options.running);
  expect(clouds).toEqual(['ap-south-1', 'eu-west-1']);
  const spec = campaignFor(options, clouds);
  expect(spec.spec.clouds).toEqual({
    names: ['ap-south-1', 'eu-west-1'],
    running: { image: ['patchbay/keystone:22.0.2-0-deb12u3'] },
  });
  expect(spec.spec.bake).toBe(600_000);
  expect(spec.spec.failureBudget).toEqual({ perWave: 0, total: 0, onExceeded: 'halt' });
  expect(planWaves(clouds.length, spec.spec.waves).map((w) => [w.name, w.end - w.start, w.approval])).toEqual(
    [
      ['canary', 1, false],
      ['rest', 1, true],
    ],
  );
  expect(() => parseLaunchArgs(['--name', 'x'])).toThrow(/--service, --running, --image/);
});
