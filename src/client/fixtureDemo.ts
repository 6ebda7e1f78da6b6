// `patchbay demo --fixtures`: the operator's two scenarios on the embedded stack (Temporal dev server
// with SQLite + a worker in this process + the local Docker engine), on examples/lab.yaml: tiny
// fixture images instead of real OpenStack, so it takes seconds.
import path from 'node:path';
import { PROJECT_ROOT } from '../lib/config';
import { loadRecordFile } from '../record/load';
import type { CloudRecord } from '../record/schema';
import { withImage } from '../record/withImage';
import type { ChangeResult } from '../workflows/types';
import { startEmbeddedStack } from './dev';
import { observeCloud } from './observeCloud';
import { PatchbayClient } from './patchbayClient';
import { progressPrinter, renderChangeResult, renderHistory } from './render';
import { temporalConfig } from '../lib/config';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const EXAMPLE = path.join(PROJECT_ROOT, 'examples', 'lab.yaml');

/** Container id and start marker of every instance: the non-destructive promise, made visible. */
async function identities(record: CloudRecord): Promise<Map<string, string>> {
  const observed = await observeCloud(record.metadata.name, record.spec.runtime.docker.hosts);
  const out = new Map<string, string>();
  for (const [service, o] of observed)
    for (const [id, c] of Object.entries(o.active)) out.set(`${service}/${id}`, c.containerId);
  return out;
}

export async function runFixtureDemo(io: Io, asJson: boolean): Promise<number> {
  const say = asJson ? io.err : io.out;
  const stack = await startEmbeddedStack();
  const client = await PatchbayClient.connect(temporalConfig());
  const steps: Array<{ step: string; revision: number; outcome: string; reason?: string; seconds: number }> =
    [];
  try {
    const base = loadRecordFile(EXAMPLE);
    const cloud = base.metadata.name;
    const patchService = 'api';
    const run = async (
      step: string,
      send: () => Promise<{ revision: number; workflowId: string }>,
    ): Promise<ChangeResult> => {
      say(`\n== ${step}`);
      const t0 = Date.now();
      const accepted = await send();
      const result = await client.waitForChange(cloud, accepted, progressPrinter(io.err));
      steps.push({
        step,
        revision: result.revision,
        outcome: result.outcome,
        reason: result.reason,
        seconds: (Date.now() - t0) / 1000,
      });
      say(renderChangeResult(cloud, result));
      return result;
    };
    const author = 'patchbay-demo';

    await run(`deploy cloud ${cloud} from ${path.relative(process.cwd(), EXAMPLE)}`, () =>
      client.apply(base, { message: 'demo: deploy', author }),
    );
    const before = await identities(base);
    await run(`Scenario 1: patch ${patchService} to patchbay/fixture:v2, one instance at a time`, () =>
      client.apply(withImage(base, patchService, 'patchbay/fixture:v2'), {
        message: 'demo: security fix',
        author,
      }),
    );
    const after = await identities(base);
    const untouched = [...before].filter(
      ([k, id]) => !k.startsWith(`${patchService}/`) && after.get(k) === id,
    ).length;
    const others = [...before.keys()].filter((k) => !k.startsWith(`${patchService}/`)).length;
    say(`non-destructive: ${untouched}/${others} containers of the other services kept their id`);
    await run(`Scenario 2: roll ${patchService} back to the previous revision`, () =>
      client.rollback(cloud, {
        service: patchService,
        message: 'demo: a third party needs the old behaviour',
        author,
      }),
    );
    await run(`a bad patch (${patchService} image that never becomes healthy): automatic rollback`, () =>
      client.apply(withImage(base, patchService, 'patchbay/fixture:broken'), {
        message: 'demo: bad patch',
        author,
      }),
    );
    const page = await client.history(cloud, { limit: 8 });
    say(`\n== history of ${cloud}\n${renderHistory(page.revisions, page.current)}`);
    if (stack.uiUrl) {
      say(
        `\nWeb UI: ${stack.uiUrl}/namespaces/default/workflows (stops with this demo; "npx patchbay dev" brings it back with the same history)`,
      );
    }
    const ok =
      steps.length === 4 &&
      steps.slice(0, 3).every((s) => s.outcome === 'applied') &&
      steps[3]?.outcome === 'rolled-back' &&
      untouched === others;
    if (asJson) io.out(JSON.stringify({ cloud, ok, steps, untouched, others, webUi: stack.uiUrl }, null, 2));
    say(
      ok
        ? '\ndemo: everything behaved as promised.'
        : '\ndemo: something did not behave as promised (see above).',
    );
    return ok ? 0 : 1;
  } finally {
    await client.close();
    await stack.stop();
  }
}
