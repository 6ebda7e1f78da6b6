// Reading YAML files (Node side): a record (or a campaign spec) -> validated, normalised value, or
// one PatchbayError listing every problem with file:line:column, so the operator fixes them in one pass.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { readConfigSources } from './configSources';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { PatchbayError, type RecordIssue } from '../lib/errors';
import type { CloudRecord } from './schema';
import { validateRecord } from './validate';

/** Path shown for problems in the YAML text itself, which have no place in the record yet. */
const SYNTAX_PATH = '(yaml syntax)';

export function loadRecordFile(file: string): CloudRecord {
  return parseRecordText(readYamlFile(file, 'record'), file, dirname(resolve(file)));
}

/** `baseDir`: where config files' `from:` paths are read (the record file's folder). */
export function parseRecordText(text: string, file = '<record>', baseDir = process.cwd()): CloudRecord {
  return parseYamlText(text, file, 'the deployment record', (input) => {
    const unreadable = readConfigSources(input, baseDir);
    if (unreadable.length > 0) return { ok: false, issues: unreadable };
    const result = validateRecord(input);
    return result.ok ? { ok: true, value: result.record } : result;
  });
}

/** A YAML file's text, or an INVALID_INPUT error that names the file and why it cannot be read. */
export function readYamlFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new PatchbayError('INVALID_INPUT', `cannot read ${what} file ${file}: ${reason}`);
  }
}

export type YamlValidation<T> = { ok: true; value: T } | { ok: false; issues: RecordIssue[] };

/**
 * One YAML document validated by `validate`; every problem located at file:line:column, thrown as
 * one INVALID_RECORD PatchbayError so the operator fixes them in one pass.
 */
export function parseYamlText<T>(
  text: string,
  file: string,
  what: string,
  validate: (input: unknown) => YamlValidation<T>,
): T {
  const fail = (issues: RecordIssue[]): never => {
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    throw new PatchbayError('INVALID_RECORD', `${file}: ${count} in ${what}`, { issues });
  };
  const lineCounter = new LineCounter();
  // prettyErrors off: we want the bare message; the position comes from the line counter.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const at = (offset: number | undefined): Pick<RecordIssue, 'line' | 'column'> => {
    if (offset === undefined) return {};
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };

  if (doc.errors.length > 0) {
    fail(
      doc.errors.map((e) => ({
        file,
        ...at(e.pos[0]),
        path: SYNTAX_PATH,
        // yaml's own advice here (use parseAllDocuments) is for programmers, not operators.
        message:
          e.code === 'MULTIPLE_DOCS'
            ? `a file holds exactly one document (${what}); remove the extra "---" document`
            : e.message,
      })),
    );
  }

  let input: unknown;
  try {
    input = doc.toJS();
  } catch (error) {
    // e.g. an alias bomb: the text parsed, but it cannot be turned into data safely.
    fail([{ file, path: SYNTAX_PATH, message: (error as Error).message }]);
  }

  const result = validate(input);
  if (result.ok) return result.value;
  return fail(
    result.issues
      .map((issue) => ({ ...issue, file, ...at(locate(doc, issue.path)) }))
      .sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity)),
  );
}

/**
 * The source offset of the YAML node at a formatted path ("spec.services[1].env.DB_PASSWORD"), or of
 * its nearest existing parent. The path is matched against the keys actually in the document,
 * longest first, so keys that themselves contain "." or "[" still resolve.
 */
function locate(doc: Document, path: string): number | undefined {
  let node: unknown = doc.contents;
  let offset = rangeStart(node);
  let rest = path === '(root)' ? '' : path;
  while (rest) {
    if (isMap(node)) {
      let match: { key: string; pair: (typeof node.items)[number] } | undefined;
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const fits = rest === key || rest.startsWith(`${key}.`) || rest.startsWith(`${key}[`);
        if (fits && (!match || key.length > match.key.length)) match = { key, pair };
      }
      if (!match) break;
      rest = rest.slice(match.key.length).replace(/^\./, '');
      node = match.pair.value;
      // A scalar value is pinpointed; a nested map or list is better shown by its key's line.
      offset = (isScalar(node) ? rangeStart(node) : undefined) ?? rangeStart(match.pair.key) ?? offset;
    } else if (isSeq(node)) {
      const m = /^\[(\d+)\]\.?/.exec(rest);
      const item: unknown = m ? node.items[Number(m[1])] : undefined;
      if (!m || item === undefined) break;
      rest = rest.slice(m[0].length);
      node = item;
      offset = rangeStart(node) ?? offset;
    } else {
      break;
    }
  }
  return offset;
}

function rangeStart(node: unknown): number | undefined {
  return (node as Node | null | undefined)?.range?.[0];
}
