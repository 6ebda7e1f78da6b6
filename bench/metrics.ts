// Prometheus text-format scrapes (the SDK worker's metrics, a temporal-server service's), reduced to
// what a bench prints: per metric, the sum over its label sets of counters and of histograms'
// _sum/_count, so that two scrapes give a phase's mean latency.
export type Scrape = Map<string, number>;

/** GET http://address/metrics → "name" / "name_sum" / "name_count" summed over labels; filtered. */
export async function scrape(url: string, keep: (name: string) => boolean = () => true): Promise<Scrape> {
  const out: Scrape = new Map();
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1]!.endsWith('_bucket') || !keep(m[1]!)) continue;
    const value = Number(m[3]);
    if (Number.isFinite(value)) out.set(m[1]!, (out.get(m[1]!) ?? 0) + value);
  }
  return out;
}

/** Mean of a histogram between two scrapes (sum and count deltas), or undefined without samples. */
export function meanBetween(
  before: Scrape,
  after: Scrape,
  name: string,
): { mean: number; count: number } | undefined {
  const count = (after.get(`${name}_count`) ?? 0) - (before.get(`${name}_count`) ?? 0);
  const sum = (after.get(`${name}_sum`) ?? 0) - (before.get(`${name}_sum`) ?? 0);
  return count > 0 ? { mean: sum / count, count } : undefined;
}

export function deltaBetween(before: Scrape, after: Scrape, name: string): number {
  return (after.get(name) ?? 0) - (before.get(name) ?? 0);
}

export type Histograms = Map<string, { sum: number; count: number }>;

/** Every histogram of a scrape (_sum/_count), keyed "name" or "name{operation}" when it has one. */
export async function scrapeHistograms(url: string): Promise<Histograms> {
  const out: Histograms = new Map();
  const text = await (await fetch(url, { signal: AbortSignal.timeout(10_000) })).text();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)_(sum|count)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const operation = /(?:^|,)operation="([^"]*)"/.exec(m[3] ?? '')?.[1];
    const key = operation ? `${m[1]}{${operation}}` : m[1]!;
    const entry = out.get(key) ?? { sum: 0, count: 0 };
    entry[m[2] as 'sum' | 'count'] += Number(m[4]);
    out.set(key, entry);
  }
  return out;
}

/** The histograms that grew most in total time between two scrapes: [key, total, count, mean]. */
export function topHistograms(
  before: Histograms,
  after: Histograms,
  filter: (key: string) => boolean,
  n: number,
): Array<{ key: string; total: number; count: number; mean: number }> {
  const rows: Array<{ key: string; total: number; count: number; mean: number }> = [];
  for (const [key, a] of after) {
    if (!filter(key)) continue;
    const b = before.get(key) ?? { sum: 0, count: 0 };
    const count = a.count - b.count;
    const total = a.sum - b.sum;
    if (count > 0) rows.push({ key, total, count, mean: total / count });
  }
  return rows.sort((x, y) => y.total - x.total).slice(0, n);
}
