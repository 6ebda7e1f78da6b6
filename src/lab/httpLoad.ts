// A bounded HTTP load: N clients, each one request at a time, no keep-alive (uWSGI closes every
// connection; a reused socket would report ECONNRESET that is the client's artefact), stopped by
// stop(), a time limit or a request limit, whichever comes first. Used by the demo, the end-to-end
// test and the benches to count what a change costs the clients of a service.
import http from 'node:http';

export interface LoadRequest {
  /** Short name of the kind of request, for failure reports. */
  what: string;
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Statuses that count as success. */
  expect: number[];
}

/** One request: when it started and ended (epoch ms), how long it took, whether it succeeded. */
export interface Sample {
  at: number;
  end: number;
  ms: number;
  ok: boolean;
  what: string;
  /** Status or error of a failed request. */
  error?: string;
}

export interface LoadOptions {
  baseUrl: string;
  concurrency: number;
  /** Which request client `client` sends as its `n`-th. */
  request: (client: number, n: number) => LoadRequest;
  maxRequests: number;
  maxMs: number;
  timeoutMs?: number;
  /** Each client waits this long after each answer (default 0: back to back). */
  pauseMs?: number;
}

export interface Load {
  samples: Sample[];
  /** Stops sending and waits for the requests in flight. */
  stop(): Promise<void>;
}

export interface LoadSummary {
  requests: number;
  failed: number;
  /** From the start of the first failed request to the end of the last one. */
  errorWindowS: number;
  p50: number;
  p99: number;
  seconds: number;
  /** Up to five distinct failure descriptions. */
  failures: string[];
}

function send(base: URL, r: LoadRequest, timeoutMs: number): Promise<Sample> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const at = Date.now();
    const done = (ok: boolean, error?: string) =>
      resolve({ at, end: Date.now(), ms: performance.now() - t0, ok, what: r.what, error });
    const req = http.request(
      {
        host: base.hostname,
        port: base.port,
        method: r.method,
        path: r.path,
        headers: { ...r.headers, ...(r.body ? { 'content-length': Buffer.byteLength(r.body) } : {}) },
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const ok = r.expect.includes(res.statusCode ?? 0);
          done(ok, ok ? undefined : `HTTP ${res.statusCode}`);
        });
        res.on('error', (e) => done(false, e.message));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', (e) => done(false, e.message));
    req.end(r.body);
  });
}

export function startLoad(options: LoadOptions): Load {
  const base = new URL(options.baseUrl);
  const samples: Sample[] = [];
  const deadline = Date.now() + options.maxMs;
  let sent = 0;
  let stopped = false;
  const clients = Array.from({ length: options.concurrency }, async (_, client) => {
    for (let n = 0; !stopped && Date.now() < deadline && sent < options.maxRequests; n++) {
      sent++;
      samples.push(await send(base, options.request(client, n), options.timeoutMs ?? 10_000));
      if (options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs));
    }
  });
  return {
    samples,
    async stop() {
      stopped = true;
      await Promise.all(clients);
    },
  };
}

/** Requests that started in [from, to] (epoch ms; all when omitted): a stalled request belongs to when it started. */
export function summarise(samples: Sample[], from = -Infinity, to = Infinity): LoadSummary {
  const window = samples.filter((s) => s.at >= from && s.at <= to);
  const failed = window.filter((s) => !s.ok);
  const sorted = window.map((s) => s.ms).sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
  // A whole run holds 100k+ samples: spreading them into Math.min overflows the call stack.
  const first = least(window.map((s) => s.at));
  const last = greatest(window.map((s) => s.end));
  return {
    requests: window.length,
    failed: failed.length,
    errorWindowS: failed.length
      ? (greatest(failed.map((f) => f.end)) - least(failed.map((f) => f.at))) / 1000
      : 0,
    p50: pct(50),
    p99: pct(99),
    seconds: window.length
      ? ((Number.isFinite(to) ? to : last) - (Number.isFinite(from) ? from : first)) / 1000
      : 0,
    failures: [...new Set(failed.map((f) => `${f.what}: ${f.error ?? 'failed'}`))].slice(0, 5),
  };
}

function least(xs: number[]): number {
  return xs.reduce((a, b) => (b < a ? b : a), Infinity);
}

function greatest(xs: number[]): number {
  return xs.reduce((a, b) => (b > a ? b : a), -Infinity);
}
