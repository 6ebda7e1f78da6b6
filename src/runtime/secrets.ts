// Secret references (env:NAME, file:/path) are resolved here, at the edge, right before a container
// is created. Values never leave this process: not in activity results, errors or logs.
import { readFileSync } from 'node:fs';
import { PatchbayError } from '../lib/errors';

export function resolveSecretRef(ref: string, key: string): string {
  if (ref.startsWith('env:')) {
    const name = ref.slice(4);
    const value = process.env[name];
    if (value === undefined) {
      throw new PatchbayError(
        'PREFLIGHT_FAILED',
        `secret ${key} refers to ${ref}, but the worker has no variable ${name}`,
      );
    }
    return value;
  }
  if (ref.startsWith('file:')) {
    const path = ref.slice(5);
    try {
      return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new PatchbayError(
        'PREFLIGHT_FAILED',
        `secret ${key} refers to ${ref}, which the worker cannot read (${reason})`,
      );
    }
  }
  throw new PatchbayError('INVALID_INPUT', `secret ${key}: unsupported reference ${ref}`);
}

/** Resolves every reference; throws on the first one that cannot be resolved. */
export function resolveSecretEnv(secretEnv: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(secretEnv).map(([key, ref]) => [key, resolveSecretRef(ref, key)]));
}

/**
 * A job's output with the values of its secrets replaced by "***": migration phases keep their
 * output in the revision (and the workflow history), where no secret may go. A reference that does
 * not resolve masks nothing; values under 4 characters are left, masking them would only mangle text.
 */
export function maskSecrets(text: string, secretEnv: Record<string, string>): string {
  let masked = text;
  for (const [key, ref] of Object.entries(secretEnv)) {
    let value: string;
    try {
      value = resolveSecretRef(ref, key);
    } catch {
      continue;
    }
    if (value.length >= 4) masked = masked.split(value).join('***');
  }
  return masked;
}
