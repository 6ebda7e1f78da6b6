import { CampaignSpecSchema } from '../../src/campaign/spec';
import { carryState, restoreState } from '../../src/workflows/campaignCarry';
import type { CampaignState, CloudOutcome } from '../../src/workflows/campaignTypes';

/** A 10,000-cloud campaign half-way, as the engine bench runs it: named clouds, patched outcomes. */
function bigState(n: number): { raw: unknown; state: CampaignState } {
  const names = Array.from({ length: n }, (_, i) => `efleet-${n}-${String(i + 1).padStart(5, '0')}`);
  const raw = {
    apiVersion: 'patchbay/v1',
    kind: 'Campaign',
    metadata: { name: `bench-engine-${n}` },
    spec: {
      clouds: { names },
      service: 'api',
      image: 'patchbay/fixture:v2',
      waves: [{ size: 1 }, { size: '10%' }, { size: 'rest' }],
    },
  };
  const outcomes: Record<string, CloudOutcome> = {};
  for (const cloud of names)
    outcomes[cloud] = { cloud, status: 'patched', revision: 2, fromRevision: 1, attempts: 1 };
  outcomes[names[7]!] = {
    cloud: names[7]!,
    status: 'rolled-back',
    reason: `health gate: ${'x'.repeat(5_000)}`,
  };
  const state: CampaignState = {
    spec: CampaignSpecSchema.parse(raw),
    startedBy: 'bench',
    startedAt: '2026-11-25T10:00:00.000Z',
    clouds: names,
    waves: [],
    next: n,
    outcomes,
    approved: [],
    baked: [],
    paused: null,
    abort: null,
    haltReason: null,
    phase: 'running',
    runs: 3,
    rollbackDone: false,
    failures: { perWave: [0, 1], total: 1 },
  };
  return { raw, state };
}

const size = (x: unknown) => Buffer.byteLength(JSON.stringify(x));

test('a 10,000-cloud campaign carries well under the 2 MB payload limit across continue-as-new', () => {
  const { raw, state } = bigState(10_000);
  const before = size({ spec: raw, state }); // what continue-as-new carried before
  const after = size({ spec: null, state: carryState(state) });
  expect(before).toBeGreaterThan(1.5e6);
  expect(after).toBeLessThan(0.6 * before);
  expect(after).toBeLessThan(1.2e6);
});

test('restore gives back every outcome with its cloud; only long reasons and the resolved name list are cut', () => {
  const { state } = bigState(100);
  const restored = restoreState(carryState(state));
  const bad = state.clouds[7]!;
  expect(restored.outcomes[bad]!.reason).toHaveLength(501);
  expect(restored.outcomes[bad]!.reason!.startsWith('health gate: xxx')).toBe(true);
  expect(restored.spec.spec.clouds.names).toEqual([]);
  expect(restored.clouds).toEqual(state.clouds);
  const { [bad]: _, ...others } = restored.outcomes;
  const { [bad]: __, ...original } = state.outcomes;
  expect(others).toEqual(original);
  expect({ ...restored, outcomes: {}, spec: null }).toEqual({ ...state, outcomes: {}, spec: null });
});

test('state carried before outcomes dropped their name still restores', () => {
  const { state } = bigState(10);
  expect(restoreState(state).outcomes).toEqual(state.outcomes);
});

test('a campaign still resolving keeps its cloud names', () => {
  const { state } = bigState(10);
  expect(carryState({ ...state, phase: 'resolving' }).spec.spec.clouds.names).toHaveLength(10);
});
