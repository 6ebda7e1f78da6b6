// `from:` in a record's config files: read by the CLI when it loads the record file, relative to
// that file, so the revision holds each file's content (what ran is what the record said, even after
// the file next to it changed). Node side: the pure validation only ever sees content.
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { formatPath, type RecordIssue } from '../lib/errors';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads one `from` into `content` in place; an issue (file, path, reason) if it cannot. */
function readSource(node: Json, baseDir: string, path: Array<string | number>): RecordIssue | undefined {
  if (typeof node.from !== 'string') return undefined;
  if (node.content !== undefined)
    return {
      path: formatPath([...path, 'from']),
      value: node.from,
      message: 'give either `content` or `from`, not both',
    };
  const file = isAbsolute(node.from) ? node.from : resolve(baseDir, node.from);
  try {
    node.content = readFileSync(file, 'utf8');
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (code ?? 'unreadable');
    return {
      path: formatPath([...path, 'from']),
      value: node.from,
      message: `cannot read ${file}: ${reason}`,
    };
  }
}

/**
 * Fills `content` from `from` for every config file and override of the raw (unvalidated) record, in
 * place; returns the files it could not read. Shapes it does not recognise are left to validation.
 */
export function readConfigSources(input: unknown, baseDir: string): RecordIssue[] {
  const issues: RecordIssue[] = [];
  const services = isObject(input) && isObject(input.spec) ? input.spec.services : undefined;
  if (!Array.isArray(services)) return issues;
  services.forEach((service: unknown, s) => {
    if (!isObject(service) || !isObject(service.config)) return;
    for (const [target, file] of Object.entries(service.config)) {
      if (!isObject(file)) continue;
      const at = ['spec', 'services', s, 'config', target];
      const problem = readSource(file, baseDir, at);
      if (problem) issues.push(problem);
      if (!Array.isArray(file.overrides)) continue;
      file.overrides.forEach((o: unknown, i) => {
        const p = isObject(o) ? readSource(o, baseDir, [...at, 'overrides', i]) : undefined;
        if (p) issues.push(p);
      });
    }
  });
  return issues;
}
