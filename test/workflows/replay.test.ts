// Replays saved histories of a real patch (change + service rollout + cloud entity) against the
// current workflow code: a non-deterministic change to workflow code fails here.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { PRELOADED_WORKFLOW_MODULES, WORKFLOWS_PATH } from '../../src/worker/workflowBundle';
import { HISTORY_DIR } from '../support/histories';

jest.setTimeout(120_000);

const files = readdirSync(HISTORY_DIR).filter((f) => f.endsWith('.json'));

test('saved histories exist for the patch workflows, from before and after the record store', () => {
  const expected = ['cloud.json', 'change-patch.json', 'service-patch.json', 'service-rollback.json'];
  // Written since changes carry their Outcome search attribute (workflow patching).
  expect(files).toEqual(
    expect.arrayContaining(['change-rollback-outcome.json', 'service-rollback-outcome.json']),
  );
  // pre-store-*: written by the version that kept revisions in workflow state (workflow patching).
  expect(files).toEqual(expect.arrayContaining([...expected, ...expected.map((f) => `pre-store-${f}`)]));
});

test('every saved history replays against the current workflow code', async () => {
  const histories = files.map((file) => ({
    workflowId: file,
    history: JSON.parse(readFileSync(path.join(HISTORY_DIR, file), 'utf8')) as unknown,
  }));
  const failures: string[] = [];
  for await (const result of Worker.runReplayHistories(
    {
      workflowsPath: WORKFLOWS_PATH,
      bundlerOptions: { preloadModules: PRELOADED_WORKFLOW_MODULES },
    },
    histories,
  )) {
    if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
  }
  expect(failures).toEqual([]);
});
