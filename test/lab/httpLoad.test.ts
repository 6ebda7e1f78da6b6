import type { Sample } from '../../src/lab/httpLoad';
import { summarise } from '../../src/lab/httpLoad';

const sample = (at: number, ms: number, ok = true): Sample => ({
  at,
  end: at + ms,
  ms,
  ok,
  what: 'token',
  error: ok ? undefined : 'HTTP 503',
});

test('summarises a window: counts, error window, percentiles, duration', () => {
  const samples = [
    sample(1_000, 2),
    sample(1_010, 4),
    sample(1_020, 6, false),
    sample(1_500, 8, false),
    sample(2_000, 10),
    sample(9_000, 1), // outside the window
  ];
  const s = summarise(samples, 1_000, 3_000);
  expect(s.requests).toBe(5);
  expect(s.failed).toBe(2);
  expect(s.errorWindowS).toBeCloseTo((1_508 - 1_020) / 1000);
  expect(s.p50).toBe(6);
  expect(s.p99).toBe(10);
  expect(s.seconds).toBe(2);
  expect(s.failures).toEqual(['token: HTTP 503']);
});

test('a whole run of 300,000 samples is summarised without overflowing the stack', () => {
  const samples = Array.from({ length: 300_000 }, (_, i) => sample(i, 1 + (i % 7), i !== 150_000));
  const s = summarise(samples);
  expect(s.requests).toBe(300_000);
  expect(s.failed).toBe(1);
  expect(s.errorWindowS).toBeCloseTo((150_000 + 1 + (150_000 % 7) - 150_000) / 1000);
  expect(s.seconds).toBeCloseTo((299_999 + 1 + (299_999 % 7)) / 1000);
});

test('an empty window is all zeros', () => {
  expect(summarise([], 0, 10)).toMatchObject({
    requests: 0,
    failed: 0,
    errorWindowS: 0,
    p50: 0,
    p99: 0,
    seconds: 0,
  });
});
