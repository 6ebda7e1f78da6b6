import { formatDuration, parseDuration } from '../../src/record/duration';
import { Duration } from '../../src/record/schema';

describe('parseDuration', () => {
  test.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['1.5s', 1_500],
    ['2m', 120_000],
    ['1.5m', 90_000],
    ['1h', 3_600_000],
    [' 30s ', 30_000],
    ['0s', 0],
    ['0.4ms', 0],
    ['0.5ms', 1],
    [250, 250],
    [0, 0],
  ] as const)('%j -> %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  test.each(['', '10', 's', '-5s', '1d', '10 s', '1e3ms', '.5s', '5S', 'PT10S'])(
    '%j is malformed',
    (input) => {
      expect(parseDuration(input)).toBeUndefined();
    },
  );

  test.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('the number %d is not a duration', (input) => {
    expect(parseDuration(input)).toBeUndefined();
  });
});

describe('formatDuration', () => {
  test.each([
    [0, '0ms'],
    [999, '999ms'],
    [1_000, '1s'],
    [1_500, '1.5s'],
    [1_234, '1.234s'],
    [90_000, '90s'],
    [120_000, '2m'],
    [5_400_000, '90m'],
    [3_600_000, '1h'],
    [7_200_000, '2h'],
  ])('%d ms -> %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  test.each([0, 1, 500, 1_000, 1_500, 59_999, 60_000, 90_000, 3_600_000, 86_400_000])(
    'round-trips %d ms through parseDuration',
    (ms) => {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    },
  );
});

describe('the Duration schema', () => {
  test('normalises text and numbers to milliseconds', () => {
    expect(Duration.parse('2s')).toBe(2_000);
    expect(Duration.parse(750)).toBe(750);
  });

  test('rejects malformed text with an example of what works', () => {
    const result = Duration.safeParse('soon');
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe('must be a duration such as "500ms", "10s", "2m" or "1h"');
  });

  test('rejects negative and fractional millisecond numbers', () => {
    expect(Duration.safeParse(-1).success).toBe(false);
    expect(Duration.safeParse(1.5).success).toBe(false);
  });
});
