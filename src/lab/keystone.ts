// The few Keystone v3 calls the demo, the end-to-end test and the bench make: issue a token with the
// admin password, validate one, and the request mix of the token load.
import http from 'node:http';
import type { LoadRequest } from './httpLoad';

export function passwordAuthBody(password: string): string {
  const domain = { id: 'default' };
  return JSON.stringify({
    auth: {
      identity: { methods: ['password'], password: { user: { name: 'admin', domain, password } } },
      scope: { project: { name: 'admin', domain } },
    },
  });
}

function request(
  url: string,
  options: { method: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: options.method,
        agent: false,
        timeout: 15_000,
        headers: {
          ...options.headers,
          ...(options.body
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(options.body) }
            : {}),
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer in 15 s`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A project-scoped admin token (X-Subject-Token of POST /v3/auth/tokens). */
export async function issueToken(baseUrl: string, password: string): Promise<string> {
  const res = await request(`${baseUrl}/v3/auth/tokens`, {
    method: 'POST',
    body: passwordAuthBody(password),
  });
  const token = res.headers['x-subject-token'];
  if (res.status !== 201 || typeof token !== 'string')
    throw new Error(`Keystone at ${baseUrl} did not issue a token: HTTP ${res.status}`);
  return token;
}

/** A new token's lifetime as Keystone states it: expires_at - issued_at of POST /v3/auth/tokens, in seconds. */
export async function tokenLifetimeSeconds(baseUrl: string, password: string): Promise<number> {
  const res = await request(`${baseUrl}/v3/auth/tokens`, {
    method: 'POST',
    body: passwordAuthBody(password),
  });
  if (res.status !== 201) throw new Error(`Keystone at ${baseUrl} did not issue a token: HTTP ${res.status}`);
  const { token } = JSON.parse(res.body) as { token: { issued_at: string; expires_at: string } };
  return Math.round((Date.parse(token.expires_at) - Date.parse(token.issued_at)) / 1000);
}

/** Whether Keystone accepts `subject` as a valid token (GET /v3/auth/tokens → 200). */
export async function tokenIsValid(baseUrl: string, password: string, subject: string): Promise<boolean> {
  const admin = await issueToken(baseUrl, password);
  const res = await request(`${baseUrl}/v3/auth/tokens`, {
    method: 'GET',
    headers: { 'x-auth-token': admin, 'x-subject-token': subject },
  });
  return res.status === 200;
}

/** Waits until Keystone answers GET /v3 with 200 through `baseUrl`. */
export async function waitForKeystone(baseUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await request(`${baseUrl}/v3`, { method: 'GET' });
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`Keystone at ${baseUrl} did not answer GET /v3 in ${timeoutMs / 1000} s (last: ${last})`);
}

/** Half the clients issue tokens (the expensive, database-backed call), half read the version document. */
export function keystoneRequests(password: string): (client: number) => LoadRequest {
  const body = passwordAuthBody(password);
  const issue: LoadRequest = {
    what: 'POST /v3/auth/tokens',
    method: 'POST',
    path: '/v3/auth/tokens',
    headers: { 'content-type': 'application/json' },
    body,
    expect: [201],
  };
  const read: LoadRequest = { what: 'GET /v3', method: 'GET', path: '/v3', expect: [200] };
  return (client) => (client % 2 === 0 ? issue : read);
}
