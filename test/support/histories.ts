// Saves workflow histories for the replay test (test/workflows/replay.test.ts) when asked to:
// PATCHBAY_SAVE_HISTORIES=1 npx jest --selectProjects integration test/workflows/patch.it.test.ts
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { testEnv } from './env';

export const HISTORY_DIR = path.join(__dirname, '..', 'fixtures', 'histories');

export async function saveHistories(entries: Array<{ workflowId: string; file: string }>): Promise<void> {
  if (process.env.PATCHBAY_SAVE_HISTORIES !== '1') return;
  const connection = await Connection.connect({ address: testEnv('address') });
  try {
    const client = new Client({ connection });
    for (const { workflowId, file } of entries) {
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      writeFileSync(path.join(HISTORY_DIR, file), historyToJSON(history));
    }
  } finally {
    await connection.close();
  }
}
