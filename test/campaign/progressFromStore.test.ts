import { CampaignSpecSchema } from '../../src/campaign/spec';
import { progressFromStore } from '../../src/client/campaignClient';
import { renderCampaign, renderCampaignList } from '../../src/client/campaignRender';

const spec = CampaignSpecSchema.parse({
  apiVersion: 'patchbay/v1',
  kind: 'Campaign',
  metadata: { name: 'keystone-fix' },
  spec: {
    clouds: { running: { notAtTarget: true } },
    service: 'keystone',
    image: 'patchbay/keystone:2',
    waves: [{ size: 1 }, { size: 'rest' }],
  },
});

test('a campaign whose workflow is gone (retention) is shown from the store alone: waves, totals, outcomes', () => {
  const p = progressFromStore(
    {
      name: 'keystone-fix',
      service: 'keystone',
      image: 'patchbay/keystone:2',
      spec,
      startedBy: 'ops',
      startedAt: '2026-12-01T10:00:00.000Z',
      workflowId: 'campaign:keystone-fix',
      phase: 'halted',
      haltReason: 'failure budget exceeded',
      finishedAt: '2026-12-01T11:00:00.000Z',
      updatedAt: '2026-12-01T11:00:00.000Z',
    },
    [
      { wave: 0, status: 'patched', n: 1 },
      { wave: 1, status: 'rolled-back', n: 1 },
      { wave: 1, status: 'not-started', n: 2 },
      { wave: null, status: 'failed', n: 1 },
    ],
    [{ cloud: 'east-2', status: 'rolled-back', reason: 'health gate' }],
  );
  expect(p.clouds).toBe(4);
  expect(p.waves.map((w) => [w.name, w.end - w.start, w.counts])).toEqual([
    ['canary', 1, { patched: 1 }],
    ['wave 2', 3, { 'rolled-back': 1, 'not-started': 2 }],
  ]);
  expect(p.totals).toEqual({ patched: 1, 'rolled-back': 1, 'not-started': 2, failed: 1 });
  expect(renderCampaign(p)).toMatch(/HALTED: failure budget exceeded[\s\S]*east-2 +rolled-back.*health gate/);
});

test('campaign list shows the phase and counts the store keeps', () => {
  const text = renderCampaignList([
    {
      id: 'keystone-fix',
      status: 'COMPLETED',
      startTime: '2026-12-01T10:00:00.000Z',
      closeTime: '2026-12-01T11:00:00.000Z',
      phase: 'completed',
      totals: { patched: 12 },
    },
    { id: 'older', status: 'RUNNING', startTime: '2026-11-01T10:00:00.000Z', closeTime: null },
  ]);
  expect(text).toMatch(/keystone-fix +COMPLETED +completed .* 12 patched/);
  expect(text).toMatch(/older +RUNNING +- /);
});

test('a cloud skipped because its hosts did not answer: finished in its wave (drawn "-"), shown with the hosts', () => {
  const p = progressFromStore(
    {
      name: 'keystone-fix',
      service: 'keystone',
      image: 'patchbay/keystone:2',
      spec,
      startedBy: 'ops',
      startedAt: '2026-12-01T10:00:00.000Z',
      workflowId: 'campaign:keystone-fix',
      phase: 'completed',
      haltReason: null,
      finishedAt: '2026-12-01T11:00:00.000Z',
      updatedAt: '2026-12-01T11:00:00.000Z',
    },
    [
      { wave: 0, status: 'patched', n: 1 },
      { wave: 1, status: 'patched', n: 2 },
      { wave: 1, status: 'skipped-unreachable', n: 1 },
    ],
    [
      {
        cloud: 'edge-7',
        status: 'skipped-unreachable',
        revision: 4,
        fromRevision: 1,
        attempts: 3,
        reason: 'host unreachable: ctl2 (3 revisions refused at preflight, the last 4; nothing touched)',
      },
    ],
  );
  const text = renderCampaign(p);
  expect(text).toContain(
    `  wave 2 wave 2   [################--------]     3/3  2 patched, 1 skipped-unreachable`,
  );
  expect(text).toMatch(/edge-7 +skipped-unreachable revision 1 -> 4: host unreachable: ctl2 \(3 revisions/);
});
