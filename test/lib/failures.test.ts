// The failure catalogue: every type described, the CLI's exit codes taken from it, the one zod-issue
// formatter, the one translation of Temporal errors, and README's table kept the same as the catalogue.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { fromTemporal, GRPC_NOT_FOUND, isNotFound, updateRejection } from '../../src/client/temporalErrors';
import { formatIssues, PatchbayError } from '../../src/lib/errors';
import {
  FAILURE_TYPES,
  FAILURES,
  LEGACY_FAILURE_TYPES,
  NON_RETRYABLE_FAILURE_TYPES,
  exitCodeOf,
  failure,
  failureType,
  type FailureType,
} from '../../src/lib/failures';
import { parsePayload, zodIssues } from '../../src/record/zodIssues';
import { ResolvePayload } from '../../src/workflows/messagePayloads';
import type * as Cli from '../../src/client/cli';

// The CLI's `validate` throws whatever loadRecordFile throws: any PatchbayError, on demand.
let mockLoadError: PatchbayError | null = null;
jest.mock('../../src/record/load', () => ({
  ...jest.requireActual<object>('../../src/record/load'),
  loadRecordFile: () => {
    if (mockLoadError) throw mockLoadError;
    throw new Error('loadRecordFile: no error set');
  },
}));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { main } = require('../../src/client/cli') as typeof Cli;

describe('the catalogue', () => {
  test.each(FAILURE_TYPES)('%s has a meaning, an exit code and a retry flag', (type) => {
    const f = FAILURES[type];
    expect(type).toMatch(/^[A-Z]+(_[A-Z]+)*$/);
    expect(f.meaning.length).toBeGreaterThan(10);
    expect([1, 2]).toContain(f.exitCode);
    expect(typeof f.retryable).toBe('boolean');
    expect(exitCodeOf(type)).toBe(f.exitCode);
  });

  test('refusals exit 2, failures exit 1', () => {
    const refused = FAILURE_TYPES.filter((t) => FAILURES[t].exitCode === 2);
    expect(refused.sort()).toEqual(
      [
        'CAMPAIGN_REFUSED',
        'CLOUD_BUSY',
        'INVALID_INPUT',
        'INVALID_RECORD',
        'NOT_FOUND',
        'SCHEMA_CONTRACTED',
        'SNAPSHOT_MISSING',
      ].sort(),
    );
  });

  test('the non-retryable types are those the catalogue marks so', () => {
    expect(NON_RETRYABLE_FAILURE_TYPES).toEqual(FAILURE_TYPES.filter((t) => !FAILURES[t].retryable));
    expect(NON_RETRYABLE_FAILURE_TYPES).toEqual(expect.arrayContaining(['NOT_FOUND', 'INVALID_INPUT']));
    expect(NON_RETRYABLE_FAILURE_TYPES).not.toContain('ENVIRONMENT');
  });

  test('old spellings read as catalogue types; unknown ones as nothing', () => {
    for (const [old, type] of Object.entries(LEGACY_FAILURE_TYPES)) {
      expect(FAILURE_TYPES).toContain(type);
      expect(failureType(old)).toBe(type);
    }
    expect(failureType('HealthGateFailed')).toBe('HEALTH_GATE_FAILED');
    expect(failureType('CLOUD_BUSY')).toBe('CLOUD_BUSY');
    expect(failureType('Error')).toBeUndefined();
    expect(failureType('toString')).toBeUndefined();
    expect(failureType(undefined)).toBeUndefined();
  });

  test.each(FAILURE_TYPES)('failure(%s) is an ApplicationFailure retryable as the catalogue says', (type) => {
    const f = failure(type, 'what happened', { instance: 'a' });
    expect(f).toBeInstanceOf(ApplicationFailure);
    expect(f.type).toBe(type);
    expect(f.message).toBe('what happened');
    expect(f.nonRetryable).toBe(!FAILURES[type].retryable);
    expect(f.details).toEqual([{ instance: 'a' }]);
    expect(failure(type, 'no details').details).toEqual([]);
  });

  test('a PatchbayError has the exit code and the failure of its type', () => {
    for (const type of FAILURE_TYPES) {
      const error = new PatchbayError(type, 'x');
      expect(error.exitCode).toBe(FAILURES[type].exitCode);
      expect(error.toFailure()).toMatchObject({
        type,
        message: 'x',
        nonRetryable: !FAILURES[type].retryable,
      });
    }
  });
});

describe('the CLI', () => {
  const run = async (argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['node', 'patchbay', ...argv], {
      out: (t) => out.push(t),
      err: (t) => err.push(t),
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  afterEach(() => {
    mockLoadError = null;
  });

  test.each(FAILURE_TYPES)('exits with the catalogue code for a PatchbayError %s', async (type) => {
    mockLoadError = new PatchbayError(type, `something ${type}`);
    const { code, err } = await run(['validate', 'lab.yaml']);
    expect(code).toBe(FAILURES[type].exitCode);
    expect(err).toBe(`error [${type}]: something ${type}`);
  });

  test('--json prints the code and the details', async () => {
    mockLoadError = new PatchbayError('CLOUD_BUSY', 'busy', { revision: 3 });
    const { code, out } = await run(['validate', 'lab.yaml', '--json']);
    expect(code).toBe(2);
    expect(JSON.parse(out)).toEqual({ error: { code: 'CLOUD_BUSY', message: 'busy', revision: 3 } });
  });

  test('an error that is not a PatchbayError exits as INTERNAL', async () => {
    const { code } = await run(['validate', 'lab.yaml']);
    expect(code).toBe(FAILURES.INTERNAL.exitCode);
  });

  test('bad usage exits as INVALID_INPUT', async () => {
    const { code } = await run(['no-such-command']);
    expect(code).toBe(FAILURES.INVALID_INPUT.exitCode);
  });
});

describe('the zod-issue formatter', () => {
  const bad = { action: 'reboot', author: 'ops@example', nots: 'typo' };

  test('a message payload: path, message and the value found, with the issues as details', () => {
    let thrown: unknown;
    try {
      parsePayload(ResolvePayload, bad, 'resolve');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ApplicationFailure);
    const f = thrown as ApplicationFailure;
    expect(f.type).toBe('INVALID_INPUT');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toBe(
      'invalid resolve payload: action: Invalid option: expected one of "rollback"|"retry"|"abandon"|"approve" (got "reboot"); ' +
        'nots: unknown field "nots"; allowed here: action, author, note (got "typo")',
    );
    const { issues } = f.details?.[0] as { issues: unknown[] };
    expect(issues).toEqual([
      {
        path: 'action',
        value: 'reboot',
        message: 'Invalid option: expected one of "rollback"|"retry"|"abandon"|"approve"',
      },
      { path: 'nots', value: 'typo', message: 'unknown field "nots"; allowed here: action, author, note' },
    ]);
  });

  test('a valid payload comes back parsed (defaults applied)', () => {
    expect(parsePayload(ResolvePayload, { action: 'retry', author: 'ops' }, 'resolve')).toEqual({
      action: 'retry',
      author: 'ops',
      note: '',
    });
  });

  test('record issues and payload issues are the same lines', () => {
    const parsed = ResolvePayload.safeParse(bad);
    if (parsed.success) throw new Error('expected a zod error');
    const issues = zodIssues(parsed.error, bad, ResolvePayload);
    expect(formatIssues(issues)).toBe(
      'action: Invalid option: expected one of "rollback"|"retry"|"abandon"|"approve" (got "reboot"); ' +
        'nots: unknown field "nots"; allowed here: action, author, note (got "typo")',
    );
    expect(formatIssues([{ file: 'lab.yaml', line: 3, column: 5, path: 'spec', message: 'wrong' }])).toBe(
      'lab.yaml:3:5 spec: wrong',
    );
  });
});

describe('the translation of Temporal errors', () => {
  const rejected = (type: string, message: string, details?: unknown) =>
    new WorkflowUpdateFailedError(
      'Workflow Update failed',
      ApplicationFailure.create({ type, message, nonRetryable: true, details: details ? [details] : [] }),
    );
  const grpcError = (code: number) =>
    Object.assign(new Error(`${code} grpc error`), { code, details: 'workflow not found', metadata: {} });

  test('an update rejected with a catalogue type: a PatchbayError of that type, message and details', () => {
    const error = fromTemporal(rejected('CLOUD_BUSY', 'cloud lab is busy', { revision: 4 }));
    expect(error).toBeInstanceOf(PatchbayError);
    expect(error).toMatchObject({
      code: 'CLOUD_BUSY',
      message: 'cloud lab is busy',
      details: { revision: 4 },
    });
  });

  test.each<[string, FailureType]>([
    ['CAMPAIGN_FINISHED', 'CAMPAIGN_REFUSED'], // campaigns from before the record store
    ['Error', 'INVALID_INPUT'], // a rejection without a type of ours
  ])('an update rejected with %s: %s', (type, code) => {
    expect(fromTemporal(rejected(type, 'refused'))).toMatchObject({ code, message: 'refused', details: {} });
  });

  test('gRPC NOT_FOUND and WorkflowNotFoundError are "not found"; NOT_FOUND with the message given', () => {
    expect(GRPC_NOT_FOUND).toBe(5);
    const grpc = grpcError(GRPC_NOT_FOUND);
    const workflow = new WorkflowNotFoundError('gone', 'campaign:x', undefined);
    expect(isNotFound(grpc)).toBe(true);
    expect(isNotFound(workflow)).toBe(true);
    expect(isNotFound(grpcError(14))).toBe(false);
    expect(isNotFound(new Error('boom'))).toBe(false);
    expect(fromTemporal(grpc, { notFound: 'no campaign named "x" here' })).toMatchObject({
      code: 'NOT_FOUND',
      message: 'no campaign named "x" here',
    });
    expect(fromTemporal(workflow, { notFound: 'nope' })).toMatchObject({ code: 'NOT_FOUND' });
    // Without a message for it, "not found" is left to the caller.
    expect(fromTemporal(grpc)).toBe(grpc);
  });

  test('anything else comes back as it was', () => {
    const other = new Error('connection reset');
    expect(fromTemporal(other, { notFound: 'nope' })).toBe(other);
    expect(updateRejection(other)).toBeNull();
    expect(
      updateRejection(new WorkflowUpdateFailedError('failed', new Error('not an app failure'))),
    ).toBeNull();
  });
});

describe('README', () => {
  test('its table of failures says what the catalogue says', () => {
    const readme = readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
    const section = /<!-- failures:begin[^>]*-->([\s\S]*?)<!-- failures:end -->/.exec(readme);
    expect(section).not.toBeNull();
    const rows = (section?.[1] ?? '')
      .split('\n')
      .filter((line) => line.startsWith('|'))
      .map((line) =>
        line
          .split('|')
          .slice(1, -1)
          .map((cell) => cell.trim()),
      );
    expect(rows[0]).toEqual(['type', 'exit', 'retried', 'meaning']);
    expect(rows.slice(2)).toEqual(
      FAILURE_TYPES.map((type) => [
        `\`${type}\``,
        String(FAILURES[type].exitCode),
        FAILURES[type].retryable ? 'yes' : 'no',
        FAILURES[type].meaning,
      ]),
    );
  });
});
