// Zod's issues made readable for operators: the path, the value found there (credentials masked),
// what was expected, and for an unknown field the fields allowed at that place. Used for every
// YAML document Patchbay reads (cloud records, campaign specs) and every message payload (the one
// formatter: zodIssues here, then formatIssue/formatIssues of ../lib/errors). Workflow code imports
// this file: no Node builtins.
import type { z } from 'zod';
import { formatIssues, formatPath, type RecordIssue } from '../lib/errors';
import { failure } from '../lib/failures';

type PathSegment = string | number;

/** Plain env names that almost certainly hold a credential. */
export const SECRET_NAME = /PASSWORD|PASSWD|_PWD$|SECRET|TOKEN|PRIVATE_KEY|API_KEY/i;

/** Shown instead of a value that may be a credential, so error output and logs never carry it. */
export const REDACTED = '<redacted>';

function issue(path: PathSegment[], value: unknown, message: string): RecordIssue {
  return { path: formatPath(path), value, message };
}

/** Every problem zod found in `input`, validated against `root`. */
export function zodIssues(error: z.ZodError, input: unknown, root: z.core.$ZodType): RecordIssue[] {
  return error.issues.flatMap((i) => fromZodIssue(i, input, root));
}

/**
 * A message payload (update, query) checked against its schema: the parsed value, or an INVALID_INPUT
 * failure "invalid <what> payload: <path>: <message> (got <value>); …" with the issues as its details.
 * Update validators throw it; a rejected update leaves no trace in the history.
 */
export function parsePayload<S extends z.ZodType>(schema: S, payload: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(payload);
  if (parsed.success) return parsed.data;
  const issues = zodIssues(parsed.error, payload, schema);
  throw failure('INVALID_INPUT', `invalid ${what} payload: ${formatIssues(issues)}`, { issues });
}

function fromZodIssue(zodIssue: z.core.$ZodIssue, input: unknown, root: z.core.$ZodType): RecordIssue[] {
  const path = zodIssue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  if (zodIssue.code === 'unrecognized_keys') {
    const allowed = allowedKeys(root, path);
    const hint = allowed ? `; allowed here: ${allowed.join(', ')}` : '';
    return zodIssue.keys.map((key) =>
      issue([...path, key], shownValue([...path, key], input), `unknown field "${key}"${hint}`),
    );
  }
  const found = lookup(input, path);
  let message = zodIssue.message;
  if (zodIssue.code === 'invalid_type' && path.length === 0 && (found.value ?? null) === null) {
    message = 'the record is empty; expected a Cloud record with apiVersion, kind, metadata and spec';
  } else if (zodIssue.code === 'invalid_type' && !found.exists) {
    message = `missing required field "${String(path[path.length - 1])}" (${zodIssue.expected})`;
  } else if (zodIssue.code === 'invalid_union') {
    // Zod reports "Invalid input" when no branch accepted the type; say which types would do.
    const expected = zodIssue.errors.flatMap((branch) =>
      branch.flatMap((i) => (i.code === 'invalid_type' && i.path.length === 0 ? [i.expected] : [])),
    );
    if (expected.length === zodIssue.errors.length) {
      message = `expected ${[...new Set(expected)].join(' or ')}, received ${typeName(found.value)}`;
    }
  } else if (zodIssue.code === 'invalid_key') {
    // A map's key (e.g. a config file's path) is wrong: say what the key's own schema says.
    message = `this key ${zodIssue.issues.map((i) => i.message).join('; ')}`;
    return [issue(path, path[path.length - 1], message)];
  } else if (zodIssue.code === 'invalid_type' && zodIssue.expected === 'string' && found.exists) {
    if (typeof found.value === 'number' || typeof found.value === 'boolean')
      message += '; put the value in quotes';
  }
  return [issue(path, shownValue(path, input), message)];
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

/** The value at a path of the operator's input, masked when it may be a credential. */
function shownValue(path: PathSegment[], input: unknown): unknown {
  const parent = path[path.length - 2];
  const key = path[path.length - 1];
  if (parent === 'secretEnv' || (parent === 'env' && typeof key === 'string' && SECRET_NAME.test(key))) {
    return REDACTED;
  }
  return lookup(input, path).value;
}

function lookup(input: unknown, path: PathSegment[]): { exists: boolean; value: unknown } {
  let current: unknown = input;
  for (const segment of path) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, segment)) {
      return { exists: false, value: undefined };
    }
    current = (current as Record<PathSegment, unknown>)[segment];
  }
  return { exists: current !== undefined, value: current };
}

/** The field names the schema allows at a path, for "did you mean" help on unknown fields. */
function allowedKeys(root: z.core.$ZodType, path: PathSegment[]): string[] | undefined {
  let schema: z.core.$ZodType | undefined = unwrap(root);
  for (const segment of path) {
    if (!schema) return undefined;
    const def = schema._zod.def as unknown as Record<string, unknown>;
    if (def.type === 'object' && typeof segment === 'string') {
      schema = (def.shape as Record<string, z.core.$ZodType | undefined>)[segment];
    } else if (def.type === 'array' && typeof segment === 'number') {
      schema = def.element as z.core.$ZodType;
    } else if (def.type === 'record') {
      schema = def.valueType as z.core.$ZodType;
    } else {
      return undefined;
    }
    schema = schema && unwrap(schema);
  }
  const def = schema?._zod.def as unknown as Record<string, unknown> | undefined;
  return def?.type === 'object' ? Object.keys(def.shape as object) : undefined;
}

/** Looks through .default(), .optional() and transforms to the schema that has the fields. */
function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let current = schema;
  for (;;) {
    const def = current._zod.def as unknown as Record<string, unknown>;
    if (
      def.type === 'default' ||
      def.type === 'optional' ||
      def.type === 'nullable' ||
      def.type === 'prefault'
    ) {
      current = def.innerType as z.core.$ZodType;
    } else if (def.type === 'pipe') {
      current = def.in as z.core.$ZodType;
    } else {
      return current;
    }
  }
}
