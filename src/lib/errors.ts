// Typed errors with a stable code and an actionable message (cf. AWS CDK's ToolkitError).
// The library throws these; only the CLI prints them and maps them to exit codes.

export type ErrorCode =
  | 'INVALID_RECORD' // the record file is malformed or inconsistent (exit 2)
  | 'INVALID_INPUT' // a command argument or message payload is wrong (exit 2)
  | 'CLOUD_BUSY' // another change runs on this cloud (exit 2: refused, nothing changed)
  | 'NOT_FOUND' // unknown cloud, revision or service (exit 2)
  | 'CAMPAIGN_REFUSED' // a campaign name already used, or a control message that does not apply now (exit 2)
  | 'PREFLIGHT_FAILED' // image missing, host unreachable: nothing was touched (exit 1)
  | 'CHANGE_FAILED' // the change ran and failed or was rolled back (exit 1)
  | 'ENVIRONMENT' // Temporal or Docker is not there (exit 1)
  | 'INTERNAL';

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
