// The embedded dev server keeps its SQLite file across versions, and `start-dev --search-attribute`
// registers attributes only when it creates that file: the attributes a newer version sets
// (Outcome) must still be there, whether Patchbay starts the server or finds one running.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { TEMPORAL_BIN } from '../../src/lib/config';
import { portAnswers, startDevServer } from '../../src/lib/devServer';
import { SEARCH_ATTRIBUTES } from '../../src/workflows/searchAttributes';
import { freePort } from '../support/freePort';

jest.setTimeout(60_000);

test('a server made by an older version (fewer search attributes) gets the missing ones', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pb-devserver-'));
  const port = await freePort();
  const uiPort = await freePort();
  const older = spawn(
    TEMPORAL_BIN,
    [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--ui-port',
      String(uiPort),
      '--headless',
      '--log-level',
      'error',
      '--db-filename',
      path.join(dir, 'old.db'),
      '--search-attribute',
      'CampaignId=Keyword',
    ],
    { stdio: 'ignore' },
  );
  // What an older Patchbay left: a SQLite file created with CampaignId only, its server running.
  try {
    for (let i = 0; i < 100 && !(await portAnswers('127.0.0.1', port)); i++)
      await new Promise((r) => setTimeout(r, 200));
    const names = async () => {
      const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
      try {
        const listed = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
        return Object.keys(listed.customAttributes ?? {}).sort();
      } finally {
        await connection.close();
      }
    };
    expect(await names()).toEqual(['CampaignId']);
    const reused = await startDevServer({ binary: TEMPORAL_BIN, stateDir: dir, port, uiPort });
    expect(reused.started).toBe(false);
    expect(await names()).toEqual(SEARCH_ATTRIBUTES.map(([name]) => name).sort());
  } finally {
    older.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
