// The Grafana dashboard (deploy/grafana/patchbay-dashboard.json) queries only metrics that exist:
// Patchbay's from their one definition (src/workflows/metrics.ts), with labels they have, and the
// SDK's from the list the metrics integration test finds in a real worker's scrape.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PATCHBAY_METRICS, type MetricDef } from '../../src/workflows/metrics';
import { SDK_METRICS, sdkSeriesNames } from './sdkMetrics';

const FILE = path.join(__dirname, '..', '..', 'deploy', 'grafana', 'patchbay-dashboard.json');

interface Target {
  expr: string;
  datasource?: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  schemaVersion: number;
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: unknown; definition?: string }> };
}

const dashboard = JSON.parse(readFileSync(FILE, 'utf8')) as Dashboard;
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const queried = panels.filter((p) => p.type !== 'row');
const exprs = queried.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
const variableQueries = dashboard.templating.list
  .filter((v) => v.type === 'query')
  .map((v) => ({ panel: `variable ${v.name}`, expr: v.definition ?? '' }));

/** The series names each Patchbay metric is exported as (a histogram: its _bucket, _sum, _count). */
const patchbaySeries = new Map<string, MetricDef>(
  PATCHBAY_METRICS.flatMap((m) =>
    m.kind === 'histogram'
      ? ['_bucket', '_sum', '_count'].map((s) => [`${m.name}${s}`, m] as [string, MetricDef])
      : [[m.name, m] as [string, MetricDef]],
  ),
);
const sdkSeries = new Set(sdkSeriesNames());
/** Labels every Patchbay metric has besides its own: the SDK's for workflow metrics, Prometheus's. */
const COMMON_LABELS = ['namespace', 'taskQueue', 'workflowType', 'job', 'instance'];

/** Metric names in a PromQL expression (label values and Grafana variables are not names). */
function metricNames(expr: string): string[] {
  const bare = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return [...bare.matchAll(/\b(?:patchbay|temporal)_[a-z0-9_]+\b/g)].map((m) => m[0]);
}

/** Label names an expression selects on or groups by, with the series names they go with. */
function labelUses(expr: string): Array<{ series: string; labels: string[] }> {
  const bare = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const uses: Array<{ series: string; labels: string[] }> = [];
  for (const m of bare.matchAll(/\b((?:patchbay|temporal)_[a-z0-9_]+)\s*\{([^}]*)\}/g))
    uses.push({
      series: m[1]!,
      labels: [...m[2]!.matchAll(/([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1]!),
    });
  // `by (a, b)` groups over every series of the expression.
  const grouped = [...bare.matchAll(/\bby\s*\(([^)]*)\)/g)].flatMap((m) =>
    m[1]!
      .split(',')
      .map((l) => l.trim())
      .filter(Boolean),
  );
  for (const series of metricNames(expr)) uses.push({ series, labels: grouped });
  return uses;
}

test('the dashboard is a Grafana dashboard on a Prometheus data source variable', () => {
  expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
  expect(dashboard.uid).toBe('patchbay-overview');
  expect(dashboard.templating.list.find((v) => v.name === 'datasource')).toMatchObject({
    type: 'datasource',
    query: 'prometheus',
  });
  const ids = panels.map((p) => p.id);
  expect(new Set(ids).size).toBe(ids.length);
  for (const p of queried) {
    expect({ panel: p.title, datasource: p.datasource }).toEqual({
      panel: p.title,
      datasource: { type: 'prometheus', uid: '${datasource}' },
    });
    expect(p.targets?.length).toBeGreaterThan(0);
    for (const t of p.targets ?? []) expect(t.datasource?.uid).toBe('${datasource}');
  }
});

test('every query names only metrics that exist', () => {
  const unknown = [...exprs, ...variableQueries].flatMap(({ panel, expr }) => {
    const names = metricNames(expr);
    if (names.length === 0) return [`${panel}: no metric in ${expr}`];
    return names.filter((n) => !patchbaySeries.has(n) && !sdkSeries.has(n)).map((n) => `${panel}: ${n}`);
  });
  expect(unknown).toEqual([]);
});

test("Patchbay's metrics are queried by labels they have", () => {
  const wrong = [...exprs, ...variableQueries].flatMap(({ panel, expr }) =>
    labelUses(expr).flatMap(({ series, labels }) => {
      const def = patchbaySeries.get(series);
      if (!def) return [];
      const allowed = new Set([
        ...def.labels,
        ...COMMON_LABELS,
        ...(series.endsWith('_bucket') ? ['le'] : []),
      ]);
      return labels.filter((l) => !allowed.has(l)).map((l) => `${panel}: ${series} has no label ${l}`);
    }),
  );
  expect(wrong).toEqual([]);
});

test('every Patchbay metric and every listed SDK metric has a panel', () => {
  const used = new Set(exprs.flatMap(({ expr }) => metricNames(expr)));
  const base = (n: string) => n.replace(/_(bucket|sum|count)$/, '');
  const usedBase = new Set([...used].map(base));
  expect(PATCHBAY_METRICS.map((m) => m.name).filter((n) => !usedBase.has(n))).toEqual([]);
  const listed = [...SDK_METRICS.histograms, ...SDK_METRICS.counters, ...SDK_METRICS.gauges];
  expect(listed.filter((n) => !usedBase.has(n))).toEqual([]);
});

test('the checks above catch a wrong name or label', () => {
  expect(metricNames('sum by (x) (rate(patchbay_nope_total{cloud=~"patchbay_x"}[5m]))')).toEqual([
    'patchbay_nope_total',
  ]);
  expect(labelUses('sum by (pod) (patchbay_changes_total{instance_id="a"})')).toEqual([
    { series: 'patchbay_changes_total', labels: ['instance_id'] },
    { series: 'patchbay_changes_total', labels: ['pod'] },
  ]);
});
