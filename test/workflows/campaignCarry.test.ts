import { CampaignSpecSchema } from '../../src/campaign/spec';
import { planWaves } from '../../src/campaign/waves';
import { fromLegacyState } from '../../src/workflows/campaign';
import {
  carryLegacyState,
  carryState,
  isLegacyState,
  restoreLegacyState,
} from '../../src/workflows/campaignCarry';
import type { CampaignState, CloudOutcome, LegacyCampaignState } from '../../src/workflows/campaignTypes';

const names = (n: number) =>
  Array.from({ length: n }, (_, i) => `efleet-${n}-${String(i + 1).padStart(6, '0')}`);

const rawSpec = (n: number) => ({
  apiVersion: 'patchbay/v1',
  kind: 'Campaign',
  metadata: { name: `bench-engine-${n}` },
  spec: {
    clouds: { names: names(n) },
    service: 'api',
    image: 'patchbay/fixture:v2',
    waves: [{ size: 1 }, { size: '10%' }, { size: 'rest' }],
  },
});

/** A campaign of n clouds half-way through, as the engine bench runs it: counters only. */
function state(n: number): CampaignState {
  const waves = planWaves(n, CampaignSpecSchema.parse(rawSpec(n)).spec.waves);
  const half = Math.floor(n / 2);
  return {
    version: 2,
    spec: CampaignSpecSchema.parse(rawSpec(n)),
    startedBy: 'bench',
    startedAt: '2026-11-25T10:00:00.000Z',
    clouds: n,
    waves,
    counts: [
      { patched: 1 },
      { patched: waves[1]!.end - waves[1]!.start - 1, 'rolled-back': 1 },
      { patched: half, pending: waves[2]!.end - waves[2]!.start - half },
    ],
    outside: {},
    next: waves[2]!.start + half,
    approved: [],
    baked: [0, 1],
    paused: null,
    abort: null,
    haltReason: null,
    phase: 'running',
    runs: 3,
    rollbackDone: false,
    rollbackAfter: -1,
    failures: { perWave: [0, 1], total: 1 },
  };
}

const size = (x: unknown) => Buffer.byteLength(JSON.stringify(x));
const carried = (n: number) => size({ spec: null, startedBy: 'bench', state: carryState(state(n)) });

test('the carried input is the same size at 10,000 and 100,000 clouds (counters, not lists)', () => {
  const at10k = carried(10_000);
  const at100k = carried(100_000);
  console.log(`campaign continue-as-new input: ${at10k} B at 10,000 clouds, ${at100k} B at 100,000 clouds`);
  expect(Math.abs(at100k - at10k)).toBeLessThanOrEqual(16); // a few more digits in the counters
  expect(at100k).toBeLessThan(4_096);
});

test('the carried spec drops its name list once resolved, keeps it while resolving', () => {
  expect(carryState(state(10)).spec.spec.clouds.names).toEqual([]);
  expect(carryState({ ...state(10), phase: 'resolving' }).spec.spec.clouds.names).toHaveLength(10);
});

/** What a campaign from before the record store carried: every cloud and outcome. */
function legacyState(n: number): LegacyCampaignState {
  const clouds = names(n);
  const spec = CampaignSpecSchema.parse(rawSpec(n));
  const waves = planWaves(n, spec.spec.waves);
  const outcomes: Record<string, CloudOutcome> = {};
  for (const cloud of clouds.slice(0, 6))
    outcomes[cloud] = { cloud, status: 'patched', revision: 2, fromRevision: 1, attempts: 1 };
  outcomes[clouds[3]!] = {
    cloud: clouds[3]!,
    status: 'rolled-back',
    reason: `health gate: ${'x'.repeat(5_000)}`,
  };
  outcomes[clouds[6]!] = { cloud: clouds[6]!, status: 'running' };
  outcomes.ghost = { cloud: 'ghost', status: 'failed', reason: 'Patchbay manages no cloud named "ghost"' };
  return {
    spec,
    startedBy: 'jest',
    startedAt: '2026-11-25T10:00:00.000Z',
    clouds,
    waves,
    next: 7,
    outcomes,
    approved: [],
    baked: [0],
    paused: null,
    abort: null,
    haltReason: null,
    phase: 'running',
    runs: 1,
    rollbackDone: false,
    failures: { perWave: [0, 1], total: 1 },
  };
}

test('a state carried before the store is recognised and becomes counters plus rows for the store', () => {
  const legacy = carryLegacyState(legacyState(20));
  expect(isLegacyState(legacy)).toBe(true);
  expect(isLegacyState(carryState(state(20)))).toBe(false);
  const { state: moved, rows } = fromLegacyState(legacy);
  expect(moved.version).toBe(2);
  expect(moved.clouds).toBe(20);
  expect(moved.next).toBe(7);
  expect(moved.failures).toEqual({ perWave: [0, 1], total: 1 });
  // Wave 1: the canary (1 cloud); wave 2: 10% = 2 clouds; rest: 17.
  expect(moved.counts).toEqual([
    { patched: 1 },
    { patched: 2 },
    { patched: 2, 'rolled-back': 1, running: 1, pending: 13 },
  ]);
  expect(moved.outside).toEqual({ failed: 1 });
  expect(rows).toHaveLength(21);
  expect(rows[0]).toEqual({
    cloud: legacy.clouds[0],
    position: 0,
    wave: 0,
    outcome: { status: 'patched', revision: 2, fromRevision: 1, attempts: 1 },
  });
  expect(rows[3]!.outcome.reason).toHaveLength(501);
  expect(rows[19]).toMatchObject({ position: 19, wave: 2, outcome: { status: 'pending' } });
  expect(rows[20]).toMatchObject({
    cloud: 'ghost',
    position: null,
    wave: null,
    outcome: { status: 'failed' },
  });
});

test('legacy carried state restores every outcome with its cloud (older runs replay with it)', () => {
  const original = legacyState(10);
  const restored = restoreLegacyState(carryLegacyState(original));
  expect(Object.keys(restored.outcomes).sort()).toEqual(Object.keys(original.outcomes).sort());
  expect(restored.outcomes.ghost).toEqual(original.outcomes.ghost);
});
