// Where the record store is. Without PATCHBAY_DATABASE_URL it is the embedded PostgreSQL that
// `patchbay dev` starts on loopback (src/store/embeddedPostgres.ts); with it, any PostgreSQL.

export const EMBEDDED_STORE_HOST = '127.0.0.1';
/** Beside Temporal's 7233: a port a system PostgreSQL (5432) does not use. */
export const EMBEDDED_STORE_PORT = 15432;
export const STORE_DATABASE = 'patchbay';
export const STORE_USER = 'patchbay';

/** postgres://patchbay@host:port/patchbay: no password, the embedded server trusts loopback. */
export function embeddedStoreUrl(port = EMBEDDED_STORE_PORT, host = EMBEDDED_STORE_HOST): string {
  return `postgres://${STORE_USER}@${host}:${port}/${STORE_DATABASE}`;
}

export function storeUrl(env: NodeJS.ProcessEnv = process.env): { url: string; embedded: boolean } {
  const url = env.PATCHBAY_DATABASE_URL;
  return url ? { url, embedded: false } : { url: embeddedStoreUrl(), embedded: true };
}

/** The URL with any password replaced by ***, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    for (const key of [...parsed.searchParams.keys()])
      if (key.toLowerCase() === 'password') parsed.searchParams.set(key, '***');
    return parsed.toString();
  } catch {
    // Not a URL (a libpq "host=… password=…" string): hide the password field.
    return url.replace(/(password\s*=\s*)('[^']*'|\S+)/gi, '$1***');
  }
}
