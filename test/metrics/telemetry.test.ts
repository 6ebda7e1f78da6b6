// The metrics address a worker or agent is given, and Patchbay's metric definitions.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { histogramBuckets, metricsAddress, parseMetricsAddress } from '../../src/lib/telemetry';
import type { PatchbayError } from '../../src/lib/errors';
import { PATCHBAY_METRICS } from '../../src/workflows/metrics';

test('an IP address and a port; anything else is refused, naming the setting', () => {
  for (const ok of ['127.0.0.1:9464', '0.0.0.0:1', '[::1]:9464', '[::]:65535'])
    expect(parseMetricsAddress(ok, 'PATCHBAY_METRICS_ADDRESS')).toBe(ok);
  for (const bad of [
    'localhost:9464',
    '127.0.0.1',
    ':9464',
    '127.0.0.1:0',
    '127.0.0.1:65536',
    '::1:9464',
    '1.2.3:80',
    ' 127.0.0.1:80',
  ])
    expect(() => parseMetricsAddress(bad, 'PATCHBAY_METRICS_ADDRESS')).toThrow(
      `PATCHBAY_METRICS_ADDRESS=${bad} is not host:port`,
    );
});

test('the flag wins over the environment; unset is off; a bad flag is bad input, a bad variable the environment', () => {
  expect(metricsAddress(undefined, {})).toBeUndefined();
  expect(metricsAddress(undefined, { PATCHBAY_METRICS_ADDRESS: '' })).toBeUndefined();
  expect(metricsAddress(undefined, { PATCHBAY_METRICS_ADDRESS: '127.0.0.1:9464' })).toBe('127.0.0.1:9464');
  expect(metricsAddress('0.0.0.0:9500', { PATCHBAY_METRICS_ADDRESS: '127.0.0.1:9464' })).toBe('0.0.0.0:9500');
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (error) {
      return (error as PatchbayError).code;
    }
    return null;
  };
  expect(code(() => metricsAddress('x:1', {}))).toBe('INVALID_INPUT');
  expect(code(() => metricsAddress(undefined, { PATCHBAY_METRICS_ADDRESS: 'x:1' }))).toBe('ENVIRONMENT');
});

test('metric names follow Prometheus conventions; labels stay bounded', () => {
  const names = PATCHBAY_METRICS.map((m) => m.name);
  expect(new Set(names).size).toBe(names.length);
  for (const m of PATCHBAY_METRICS) {
    expect(m.name).toMatch(/^patchbay_[a-z_]+$/);
    if (m.kind === 'counter') expect(m.name).toMatch(/_total$/);
    if (m.kind === 'histogram') {
      expect(m.name).toMatch(/_seconds$/);
      expect([...m.buckets].sort((a, b) => a - b)).toEqual([...m.buckets]);
    }
    // Never per instance or per revision (unbounded), nor a name the SDK adds itself.
    for (const label of m.labels)
      expect([
        'instance',
        'unit',
        'revision',
        'workflowId',
        'namespace',
        'taskQueue',
        'workflowType',
      ]).not.toContain(label);
  }
  // A bucket override per histogram, matched by name (no name contains another's).
  const buckets = histogramBuckets();
  expect(Object.keys(buckets).sort()).toEqual(
    PATCHBAY_METRICS.filter((m) => m.kind === 'histogram')
      .map((m) => m.name)
      .sort(),
  );
  for (const a of names) for (const b of names) if (a !== b) expect(a.includes(b)).toBe(false);
});

test("README's metrics table lists every Patchbay metric, with its type and labels", () => {
  const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(
    readme.indexOf('### Metrics'),
    readme.indexOf('\n## ', readme.indexOf('### Metrics')),
  );
  const rows = [...section.matchAll(/^\| `(patchbay_\w+)` +\| (\w+) +\| ([^|]+)\|$/gm)].map((m) => ({
    name: m[1],
    kind: m[2],
    // "cloud, outcome (applied, …)": the label names, without the values in parentheses
    labels: m[3]!
      .replace(/\([^)]*\)/g, '')
      .split(',')
      .map((l) => l.trim()),
  }));
  expect(rows).toEqual(PATCHBAY_METRICS.map((m) => ({ name: m.name, kind: m.kind, labels: [...m.labels] })));
});
