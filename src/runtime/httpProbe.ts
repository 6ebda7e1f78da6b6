// One HTTP health probe. No keep-alive: uWSGI closes every connection (REAL-OPENSTACK-NOTES.md).
import http from 'node:http';

export interface ProbeResult {
  status?: number;
  /** A short human description of what came back: "200 OK", "404 Not Found", "ECONNREFUSED". */
  summary: string;
}

export function probeHttp(url: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const request = http.get(url, { agent: false, timeout: timeoutMs }, (response) => {
      response.resume();
      response.on('end', () => undefined);
      resolve({
        status: response.statusCode,
        summary: `${response.statusCode} ${response.statusMessage ?? ''}`.trim(),
      });
    });
    request.on('timeout', () => request.destroy(new Error(`no response within ${timeoutMs} ms`)));
    request.on('error', (error: NodeJS.ErrnoException) => resolve({ summary: error.code ?? error.message }));
  });
}
