// Secrets never enter a workflow history: the record carries a reference, the activity that starts
// the container resolves it, and no history of the change (cloud, change, service) contains the value.
import { Client, Connection } from '@temporalio/client';
import {
  cloudName,
  docker,
  fixtureRecord,
  removeCloudContainers,
  runCli,
  snapshot,
  startWorker,
  writeRecord,
} from '../support/harness';
import { FIXTURE } from '../support/fixtures';
import { testEnv } from '../support/env';
import { historyText } from '../support/histories';

jest.setTimeout(120_000);

const QUEUE = 'secrets-it';
const SECRET = 'pa55-never-in-history-7f3a';

test('a secret reference is resolved by the activity and never recorded', async () => {
  const worker = await startWorker(QUEUE, { PATCHBAY_TEST_DB_PASSWORD: SECRET });
  const cloud = cloudName('secret');
  try {
    const record = fixtureRecord(cloud, { api: { image: FIXTURE.v1, ports: [18701] } });
    (record.spec.services[0] as { secretEnv?: Record<string, string> }).secretEnv = {
      DB_PASSWORD: 'env:PATCHBAY_TEST_DB_PASSWORD',
    };
    const out = await runCli(['apply', writeRecord(record), '--json'], QUEUE);
    expect(out.code).toBe(0);
    const [container] = [...(await snapshot(cloud)).values()];
    const env = (await docker.getContainer(container!.id).inspect()).Config.Env;
    expect(env).toContain(`DB_PASSWORD=${SECRET}`);

    const connection = await Connection.connect({ address: testEnv('address') });
    try {
      const client = new Client({ connection });
      const ids = [`cloud:${cloud}`, `cloud:${cloud}:r1`, `cloud:${cloud}:r1:api`];
      for (const id of ids) {
        const history = historyText(await client.workflow.getHandle(id).fetchHistory());
        expect(history.length).toBeGreaterThan(1000); // a real history was read
        expect(history).toContain('env:PATCHBAY_TEST_DB_PASSWORD');
        expect(history).not.toContain(SECRET);
      }
    } finally {
      await connection.close();
    }
    expect(out.stdout).not.toContain(SECRET);
  } finally {
    await worker.stop();
    await removeCloudContainers(cloud);
  }
});
