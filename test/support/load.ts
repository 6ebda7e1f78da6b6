// A bounded load generator for zero-downtime checks: N concurrent clients issue GETs on loopback until
// stopped, a request cap or a time cap, whichever comes first. No keep-alive (uWSGI and busybox close
// connections after each response; a reused socket would report a client-side ECONNRESET).
import http from 'node:http';

export interface LoadResult {
  requests: number;
  failures: number;
  /** First few failures, for the assertion message. */
  examples: string[];
  /** Seconds between the first and last failure (0 when none). */
  errorWindowS: number;
  latenciesMs: number[];
}

export interface Load {
  stop(): Promise<LoadResult>;
}

function get(url: string, timeoutMs: number): Promise<{ ok: boolean; what: string }> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ok: res.statusCode === 200, what: `HTTP ${res.statusCode}` }));
      res.on('error', (e) => resolve({ ok: false, what: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ ok: false, what: e.code ?? e.message }));
  });
}

export function startLoad(
  url: string,
  options: { concurrency?: number; maxRequests?: number; maxSeconds?: number } = {},
): Load {
  const concurrency = options.concurrency ?? 4;
  const maxRequests = options.maxRequests ?? 50_000;
  const deadline = Date.now() + (options.maxSeconds ?? 120) * 1000;
  const result: LoadResult = { requests: 0, failures: 0, examples: [], errorWindowS: 0, latenciesMs: [] };
  let stopped = false;
  let firstFailure = 0;
  let lastFailure = 0;
  const client = async (): Promise<void> => {
    while (!stopped && result.requests < maxRequests && Date.now() < deadline) {
      const t0 = performance.now();
      const r = await get(url, 5_000);
      result.requests++;
      result.latenciesMs.push(performance.now() - t0);
      if (!r.ok) {
        result.failures++;
        const now = Date.now();
        firstFailure ||= now;
        lastFailure = now;
        if (result.examples.length < 5) result.examples.push(r.what);
      }
    }
  };
  const clients = Array.from({ length: concurrency }, client);
  return {
    async stop() {
      stopped = true;
      await Promise.all(clients);
      result.errorWindowS = firstFailure ? (lastFailure - firstFailure) / 1000 : 0;
      return result;
    },
  };
}
