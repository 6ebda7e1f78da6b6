// The inventory's grouping and the human output of clouds, history pages and show.
import {
  renderAudit,
  renderHistory,
  renderInventory,
  renderRevisionHeader,
  renderServiceInventory,
} from '../../src/client/render';
import { groupByImage, type InventoryCloud } from '../../src/store/inventoryStore';
import type { StoredRevision } from '../../src/store/revisionStore';

const KS = (tag: string) => `registry.example/keystone:${tag}`;

test('groupByImage: one block per image in image order, clouds sorted, clouds without the service apart', () => {
  const inv = groupByImage('keystone', [
    { name: 'west-2', image: KS('22.0.2-0-deb12u3') },
    { name: 'east-1', image: KS('22.0.2-0-deb12u6') },
    { name: 'edge', image: null },
    { name: 'east-2', image: KS('22.0.2-0-deb12u3') },
    { name: 'dig', image: 'registry.example/keystone@sha256:0123456789abcdef0123456789abcdef' },
  ]);
  expect(inv).toEqual({
    service: 'keystone',
    clouds: 5,
    images: [
      { image: KS('22.0.2-0-deb12u3'), version: '22.0.2-0-deb12u3', count: 2, clouds: ['east-2', 'west-2'] },
      { image: KS('22.0.2-0-deb12u6'), version: '22.0.2-0-deb12u6', count: 1, clouds: ['east-1'] },
      {
        image: 'registry.example/keystone@sha256:0123456789abcdef0123456789abcdef',
        version: 'sha256:0123456789ab',
        count: 1,
        clouds: ['dig'],
      },
    ],
    without: { count: 1, clouds: ['edge'] },
  });
  const text = renderServiceInventory(inv);
  expect(text).toContain('keystone across 5 managed cloud(s):');
  expect(text).toContain(`  ${KS('22.0.2-0-deb12u3')}  (2 clouds)\n    east-2, west-2`);
  expect(text).toContain('  (no keystone in the current revision)  (1 cloud)\n    edge');
});

test('renderServiceInventory wraps long cloud lists, six names a line', () => {
  const names = Array.from({ length: 8 }, (_, i) => `c${i}`);
  const text = renderServiceInventory(
    groupByImage(
      'api',
      names.map((name) => ({ name, image: 'x/api:1' })),
    ),
  );
  expect(text.split('\n')).toEqual([
    'api across 8 managed cloud(s):',
    '  x/api:1  (8 clouds)',
    '    c0, c1, c2, c3, c4, c5',
    '    c6, c7',
  ]);
});

test('renderInventory: a line per cloud, its versions below, a total', () => {
  const cloud = (name: string, extra: Partial<InventoryCloud> = {}): InventoryCloud => ({
    name,
    labels: { region: 'east' },
    currentRevision: 3,
    lastRevision: 3,
    lastOutcome: 'applied',
    changeRunning: false,
    activeRevision: null,
    updatedAt: '2026-12-05T00:00:00.000Z',
    services: [
      { service: 'keystone', image: KS('u3'), version: 'u3' },
      { service: 'mariadb', image: 'mariadb:10.11', version: '10.11' },
    ],
    ...extra,
  });
  const text = renderInventory([
    cloud('lab'),
    cloud('new', {
      currentRevision: null,
      lastOutcome: null,
      labels: {},
      services: [],
      changeRunning: true,
      activeRevision: 1,
    }),
  ]);
  expect(text.split('\n')).toEqual([
    'CLOUD  REV    LAST OUTCOME  CHANGE      LABELS',
    'lab    3      applied       -           region=east',
    '       keystone u3, mariadb 10.11',
    'new    -      -             running r1  -',
    '2 cloud(s), 1 with a change running',
  ]);
  expect(renderInventory([])).toBe('no managed clouds in the record store.');
});

test('renderHistory: newest first as given, with how to page back', () => {
  const rev = (number: number) => ({
    number,
    outcome: 'applied' as const,
    createdAt: `2026-12-05T00:00:0${number}.000Z`,
    author: 'ops',
    message: `m${number}`,
  });
  const text = renderHistory([rev(5), rev(4)], 5, { cloud: 'lab', total: 5, nextBefore: 4, limit: 2 });
  const lines = text.split('\n');
  expect(lines[1]).toMatch(/^\*5 {3}applied/);
  expect(lines[2]).toMatch(/^ 4 {3}applied/);
  expect(lines.at(-1)).toBe(
    '2 of 5 revision(s) shown (4..5); older: patchbay history lab --before 4 --limit 2',
  );
  expect(
    renderHistory([rev(1)], 1, { cloud: 'lab', total: 1, nextBefore: null })
      .split('\n')
      .at(-1),
  ).toBe('1 of 1 revision(s) shown (1..1)');
});

test('renderRevisionHeader: outcome, who and why, per-service and per-instance results', () => {
  const revision = {
    cloud: 'lab',
    number: 4,
    kind: 'rollback',
    rollbackOf: { service: 'api', toRevision: 2 },
    author: 'ops',
    message: 'back',
    workflowId: 'cloud:lab:r4',
    createdAt: '2026-12-05T00:00:00.000Z',
    finishedAt: '2026-12-05T00:00:09.000Z',
    outcome: 'rolled-back',
    reason: 'api/local-1: GET /health 404\nsecond line',
    services: [
      {
        service: 'api',
        action: 'patch',
        status: 'rolled-back',
        fromVersion: 'v1',
        toVersion: 'v2',
        instances: [{ instance: 'local-1', phase: 'rolled-back', detail: '404' }],
        jobs: [{ job: 'db-sync', phase: 'before', exitCode: 0, durationMs: 120 }],
        steps: [],
      },
    ],
  } as unknown as StoredRevision;
  expect(renderRevisionHeader(revision).split('\n')).toEqual([
    '# revision 4 of cloud lab (rollback of api to revision 2): rolled-back',
    '# by ops at 2026-12-05T00:00:00.000Z, finished 2026-12-05T00:00:09.000Z; workflow cloud:lab:r4',
    '# message: back',
    '# reason: api/local-1: GET /health 404',
    '#   second line',
    '# api              patch     rolled-back v1 -> v2',
    '#     local-1              rolled-back (404)',
    '#     job before/db-sync: exit 0 in 120 ms',
  ]);
});

test('renderAudit: oldest first with the workflow the decision went to', () => {
  expect(renderAudit('lab', [])).toBe('no operator decisions recorded for lab.');
  const text = renderAudit('lab', [
    {
      key: 'k',
      at: '2026-12-05T00:00:00.000Z',
      actor: 'ops',
      action: 'resolve:rollback',
      targetKind: 'cloud',
      target: 'lab',
      reason: 'bad build',
      detail: { workflowId: 'cloud:lab:r2:api' },
    },
  ]);
  expect(text.split('\n')[1]).toBe(
    '2026-12-05T00:00:00.000Z  ops                   resolve:rollback  bad build [cloud:lab:r2:api]',
  );
});
