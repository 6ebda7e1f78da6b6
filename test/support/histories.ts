// Saves workflow histories for the replay test (test/workflows/replay.test.ts) when asked to:
//   PATCHBAY_SAVE_HISTORIES=1 npx jest test/workflows/patch.it.test.ts test/workflows/rollback.it.test.ts
// The pinned `temporal` CLI exports them in the standard JSON form the replayer reads.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { TEMPORAL_BIN } from '../../src/lib/config';
import { testEnv } from './env';

export const HISTORY_DIR = path.join(__dirname, '..', 'fixtures', 'histories');

export async function saveHistories(entries: Array<{ workflowId: string; file: string }>): Promise<void> {
  if (process.env.PATCHBAY_SAVE_HISTORIES !== '1') return;
  for (const { workflowId, file } of entries) {
    const json = execFileSync(
      TEMPORAL_BIN,
      ['workflow', 'show', '--workflow-id', workflowId, '--output', 'json', '--address', testEnv('address')],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    writeFileSync(path.join(HISTORY_DIR, file), json);
  }
}

/** Every string and every payload (decoded) of a history, as one text to search (no secret in it). */
export function historyText(value: unknown): string {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (v instanceof Uint8Array) out.push(Buffer.from(v).toString('utf8'));
    else if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(value);
  return out.join('\n');
}
