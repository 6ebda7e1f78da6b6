// Typed errors with a stable code and an actionable message (cf. AWS CDK's ToolkitError).
// The library throws these; only the CLI prints them and maps them to exit codes. The codes are the
// failure types of the catalogue (./failures.ts), which also gives each its exit code.
import type { ApplicationFailure } from '@temporalio/common';
import { exitCodeOf, failure, type FailureType } from './failures';

/** A PatchbayError's code: a failure type of the catalogue (FAILURES in ./failures.ts). */
export type ErrorCode = FailureType;

/** One thing wrong in a record: where (file, line, path) and what (value, message). */
export interface RecordIssue {
  file?: string;
  line?: number;
  column?: number;
  /** JSON path into the record, e.g. spec.services[1].image */
  path: string;
  value?: unknown;
  message: string;
}

export class PatchbayError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: { issues?: RecordIssue[]; [key: string]: unknown } = {},
  ) {
    super(message);
    this.name = 'PatchbayError';
  }

  /** The `patchbay` command's exit code for this error (from the catalogue). */
  get exitCode(): 1 | 2 {
    return exitCodeOf(this.code);
  }

  /** As an activity's failure: the same type and message, retryable as the catalogue says. */
  toFailure(): ApplicationFailure {
    return failure(this.code, this.message);
  }
}

/** "spec.services[1].image" from ["spec", "services", 1, "image"]. */
export function formatPath(path: ReadonlyArray<string | number | symbol>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(root)';
}

/** "lab.yaml:12:9 spec.services[1].image: must have a tag or digest (got "nginx")" */
export function formatIssue(issue: RecordIssue): string {
  const where = issue.file
    ? `${issue.file}${issue.line ? `:${issue.line}${issue.column ? `:${issue.column}` : ''}` : ''} `
    : '';
  const got = issue.value === undefined ? '' : ` (got ${JSON.stringify(issue.value)})`;
  return `${where}${issue.path}: ${issue.message}${got}`;
}

/** Issues on one line, for a message: "spec.services[1].image: must have a tag or digest (got "nginx"); …". */
export function formatIssues(issues: ReadonlyArray<RecordIssue>): string {
  return issues.map(formatIssue).join('; ');
}
