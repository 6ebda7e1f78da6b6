// Years of history on one cloud: 5,000 revisions of a 50 KB record through the documented update,
// then history, status, plan, apply and rollback --to-revision 3 still work, and the cloud workflow's
// continue-as-new input is the same size at revision 10 as at revision 5,000 (the history lives in
// the record store, not in workflow state). PATCHBAY_SCALE_REVISIONS lowers the count for a quick look.
import { PatchbayClient } from '../../src/client/patchbayClient';
import { temporalConfig } from '../../src/lib/config';
import { CloudRecordSchema, type CloudRecord } from '../../src/record/schema';
import { openDb, type Db } from '../../src/store/db';
import { RevisionStore } from '../../src/store/revisionStore';
import { cloudWorkflow } from '../../src/workflows';
import { cloudWorkflowId } from '../../src/workflows/ids';
import { applyUpdate } from '../../src/workflows/messages';
import type { ChangeResult, CloudState } from '../../src/workflows/types';
import {
  baseEnv,
  cloudName,
  fixtureRecord,
  removeCloudContainers,
  runCli,
  servedVersions,
  startWorker,
  writeRecord,
  type WorkerProcess,
} from '../support/harness';
import { FIXTURE } from '../support/fixtures';
import { testStoreUrl } from '../support/store';

const REVISIONS = Number(process.env.PATCHBAY_SCALE_REVISIONS || 5_000);
/**
 * The full run continues as new at the product's own threshold (5,000 events); a shorter run
 * (npm test's) lowers it so that it still crosses several continue-as-new boundaries.
 */
const MAX_HISTORY_EVENTS = REVISIONS >= 5_000 ? undefined : 150;
const RECORD_BYTES = 50 * 1024;

jest.setTimeout(3_600_000);

const QUEUE = 'record-store-scale-it';
let worker: WorkerProcess;
let client: PatchbayClient;
let db: Db;
const cloud = cloudName('years');
const PORT = 18931;

beforeAll(async () => {
  worker = await startWorker(QUEUE);
  client = await PatchbayClient.connect(temporalConfig(baseEnv(QUEUE)));
  db = openDb(testStoreUrl());
});
afterAll(async () => {
  await client?.close();
  await worker?.stop();
  await db?.close();
  await removeCloudContainers(cloud);
});

/** A record of about 50 KB: one service whose settings fill it, as a real keystone.conf would. */
function bigRecord(image: string): CloudRecord {
  const input = fixtureRecord(cloud, { api: { image, ports: [PORT] } });
  const env: Record<string, string> = { PORT: '{{port}}' };
  for (let i = 0; JSON.stringify(env).length < RECORD_BYTES; i++)
    env[`SETTING_${String(i).padStart(4, '0')}`] = `section-${i % 37}/option-${i}: ${'x'.repeat(40)}`;
  input.spec.services[0]!.env = env;
  return CloudRecordSchema.parse(input);
}

/** The input each run of the cloud workflow started with: its size and the revision it carried. */
async function carriedInputs(): Promise<Array<{ last: number; bytes: number }>> {
  const id = cloudWorkflowId(cloud);
  const runs: string[] = [];
  for await (const wf of client.client.workflow.list({ query: `WorkflowId = '${id}'` })) runs.push(wf.runId);
  const out: Array<{ last: number; bytes: number }> = [];
  for (const runId of runs) {
    const page = await client.client.workflowService.getWorkflowExecutionHistory({
      namespace: client.config.namespace,
      execution: { workflowId: id, runId },
      maximumPageSize: 1,
    });
    const payload = page.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    if (!payload?.data) continue;
    const arg = JSON.parse(Buffer.from(payload.data).toString('utf8')) as { state?: CloudState };
    out.push({ last: arg.state?.last ?? 0, bytes: payload.data.length });
  }
  return out.sort((a, b) => a.last - b.last);
}

test(`${REVISIONS} revisions of a 50 KB record: reads and changes still work, carried state does not grow`, async () => {
  const v1 = bigRecord(FIXTURE.v1);
  const v2 = bigRecord(FIXTURE.v2);
  const recordBytes = JSON.stringify(v1).length;
  expect(recordBytes).toBeGreaterThanOrEqual(RECORD_BYTES);
  const started = Date.now();
  if (MAX_HISTORY_EVENTS)
    await client.client.workflow.start(cloudWorkflow, {
      workflowId: cloudWorkflowId(cloud),
      taskQueue: QUEUE,
      args: [{ name: cloud, maxHistoryEvents: MAX_HISTORY_EVENTS }],
    });
  let accepted = await client.apply(v1, { message: 'revision 1', author: 'jest' });
  const handle = client.client.workflow.getHandle(cloudWorkflowId(cloud));
  for (let n = 1; ; n++) {
    const result = (await client.client.workflow.getHandle(accepted.workflowId).result()) as ChangeResult;
    expect(result.outcome).toBe('applied');
    if (n % 500 === 0)
      process.stdout.write(`  ${n} revisions, ${((Date.now() - started) / n).toFixed(0)} ms each\n`);
    if (n === REVISIONS) break;
    // Revision 3 runs v2, so a rollback to it has something to do; every other one re-applies v1.
    accepted = await handle.executeUpdate(applyUpdate, {
      args: [{ record: n + 1 === 3 ? v2 : v1, message: `revision ${n + 1}`, author: 'jest' }],
    });
  }
  const seconds = (Date.now() - started) / 1000;
  const store = new RevisionStore(db);
  expect(await store.count(cloud)).toBe(REVISIONS);

  const inputs = await carriedInputs();
  process.stdout.write(
    `${REVISIONS} revisions of a ${recordBytes}-byte record in ${seconds.toFixed(0)} s ` +
      `(${((seconds * 1000) / REVISIONS).toFixed(0)} ms each); continue-as-new inputs:\n` +
      inputs.map((i) => `  run from revision ${i.last}: ${i.bytes} bytes`).join('\n') +
      '\n',
  );
  const carried = inputs.filter((i) => i.last >= 10);
  expect(carried.length).toBeGreaterThanOrEqual(2);
  // It kept continuing as new to the end: a run started in the last quarter (npm test's short run
  // continues every ~8 revisions of 40).
  expect(carried.at(-1)!.last).toBeGreaterThan(REVISIONS * 0.75);
  const sizes = carried.map((i) => i.bytes);
  // Only the digits of the revision numbers and timestamps differ.
  expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThan(64);
  // The current record, and the record of a change handed over to the next run (back-to-back
  // applies leave no idle moment, so the run continues as new with that change running): two records.
  expect(Math.max(...sizes)).toBeLessThan(2 * recordBytes + 4_096);

  const timed = async (args: string[]) => {
    const t = Date.now();
    const out = await runCli(args, QUEUE);
    return { ...out, ms: Date.now() - t };
  };
  const history = await timed(['history', cloud, '--json']);
  expect(history.code).toBe(0);
  const listed = JSON.parse(history.stdout) as { total: number; revisions: Array<{ number: number }> };
  expect(listed.total).toBe(REVISIONS);
  expect(listed.revisions[0]!.number).toBe(REVISIONS);
  const status = await timed(['status', cloud]);
  expect(status.code).toBe(0);
  expect(status.stdout).toContain(`revision ${REVISIONS}`);
  const file = writeRecord(CloudRecordSchema.parse(v1) as never, `${cloud}-v1.yaml`);
  const plan = await timed(['plan', file]);
  expect(plan.code).toBe(0);
  const apply = await timed(['apply', file, '-m', 'one more', '--json']);
  expect(apply.code).toBe(0);
  expect(JSON.parse(apply.stdout)).toMatchObject({ revision: REVISIONS + 1, outcome: 'applied' });
  const rollback = await timed(['rollback', cloud, 'api', '--to-revision', '3', '--json']);
  expect(rollback.code).toBe(0);
  expect(JSON.parse(rollback.stdout)).toMatchObject({ revision: REVISIONS + 2, outcome: 'applied' });
  expect(await servedVersions([PORT])).toEqual(['v2']);
  process.stdout.write(
    `CLI at ${REVISIONS} revisions: history ${history.ms} ms, status ${status.ms} ms, plan ${plan.ms} ms, ` +
      `apply ${apply.ms} ms, rollback --to-revision 3 ${rollback.ms} ms\n`,
  );
});
