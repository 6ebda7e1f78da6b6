// `patchbay demo`: the operator's scenarios on real OpenStack, on the embedded stack (Temporal dev
// server with SQLite + a worker in this process + the local Docker engine). It deploys
// examples/openstack.yaml (MariaDB, Keystone x3 behind HAProxy, Glance, Placement), then, while a
// bounded token load runs through HAProxy, patches Keystone to Debian's security fix, reverts it and
// tries a broken build; then, under a new load, reconfigures Keystone (its keystone.conf from the
// record: token lifetime 1 h -> 2 h) and rolls that back; and reports what the clients saw, what
// Keystone's tokens and files say, and what was (not) touched.
import { dockerForHost } from '../runtime/dockerClient';
import { temporalConfig } from '../lib/config';
import { openstackLab } from '../lab/openstackLab';
import { runKeystoneScenarios, stepKept, type ScenarioReport } from '../lab/keystoneScenarios';
import {
  reconfigureStepKept,
  runKeystoneReconfigure,
  type ReconfigureReport,
} from '../lab/keystoneReconfigure';
import { startEmbeddedStack } from './dev';
import type { Io } from './fixtureDemo';
import { PatchbayClient } from './patchbayClient';
import { describeRestore, progressPrinter, renderChangeResult, renderHistory } from './render';

function describe(r: ScenarioReport): string {
  const lines = [`   took ${r.seconds.toFixed(1)} s: ${r.outcome}${r.reason ? ` (${r.reason})` : ''}`];
  const versions = [...new Set(Object.values(r.keystonePackages))];
  lines.push(
    `   keystone package inside the ${Object.keys(r.keystonePackages).length} containers (dpkg-query): ${versions.join(', ')}`,
  );
  if (r.load) {
    const l = r.load;
    lines.push(
      `   load through HAProxy: ${l.failed} failed of ${l.requests} requests (token issues and GET /v3), p50 ${l.p50.toFixed(0)} ms, p99 ${l.p99.toFixed(0)} ms${l.failures.length ? `; ${l.failures.join('; ')}` : ''}`,
    );
  }
  if (r.others)
    lines.push(
      `   MariaDB, Glance, Placement, HAProxy: ${r.others.compared - r.others.changed.length}/${r.others.compared} containers kept their id and start time`,
    );
  if (r.earlyTokenValid !== undefined)
    lines.push(`   token issued before the first patch still validates: ${r.earlyTokenValid ? 'yes' : 'NO'}`);
  if (r.adminCanAuthenticate !== undefined)
    lines.push(`   the admin authenticates afterwards: ${r.adminCanAuthenticate ? 'yes' : 'NO'}`);
  if (r.migrations)
    lines.push(
      `   migrations: ${r.migrations.map((p) => `${p.stage} exit ${p.exitCode} (${p.seconds.toFixed(1)} s)`).join(', ')}`,
    );
  if (r.restore) lines.push(...describeRestore(r.restore).map((l) => `   ${l}`));
  if (r.restore && r.load)
    lines.push(
      `   Keystone was down while its database went back: requests failed for ${r.load.errorWindowS.toFixed(1)} s (not a rolling operation)`,
    );
  return lines.join('\n');
}

function describeReconfigure(r: ReconfigureReport): string {
  const lines = [`   took ${r.seconds.toFixed(1)} s: ${r.outcome}${r.reason ? ` (${r.reason})` : ''}`];
  const expirations = [...new Set(r.tokenSections.map((t) => t.expiration))];
  lines.push(
    `   [token] expiration in keystone.conf inside the ${r.tokenSections.length} containers: ${expirations.join(', ')}; ${r.keystone.replaced} of ${r.keystone.running} containers replaced`,
  );
  lines.push(
    `   new tokens through HAProxy live ${[...new Set(r.tokenLifetimes)].join(', ')} s (expires_at - issued_at)`,
  );
  if (r.load) {
    const l = r.load;
    lines.push(
      `   load through HAProxy: ${l.failed} failed of ${l.requests} requests, p50 ${l.p50.toFixed(0)} ms, p99 ${l.p99.toFixed(0)} ms${l.failures.length ? `; ${l.failures.join('; ')}` : ''}`,
    );
  }
  if (r.others)
    lines.push(
      `   MariaDB, Glance, Placement, HAProxy: ${r.others.compared - r.others.changed.length}/${r.others.compared} containers kept their id and start time`,
    );
  return lines.join('\n');
}

export async function runDemo(io: Io, asJson: boolean): Promise<number> {
  const say = asJson ? io.err : io.out;
  const lab = openstackLab();
  // The worker runs in this process and resolves the record's env: references from its environment;
  // the demo's passwords are generated once and kept (mode 600) beside the cloud's database files.
  Object.assign(process.env, lab.secretEnv);
  const stack = await startEmbeddedStack();
  const client = await PatchbayClient.connect(temporalConfig());
  try {
    say(
      `demo: cloud ${lab.name} from examples/openstack.yaml; state and generated passwords in ${lab.root}; Keystone through HAProxy at ${lab.keystoneUrl}`,
    );
    const { steps: reports, wholeRun } = await runKeystoneScenarios({
      client,
      docker: dockerForHost(lab.record.spec.runtime.docker.hosts[0]!),
      lab,
      author: 'patchbay-demo',
      say,
      onProgress: () => progressPrinter(io.err),
      onResult: (result) => say(renderChangeResult(lab.name, result)),
      upgrade: true,
    });
    // The cloud is at the example's record again (the restore): its configuration changed next.
    const reconfigure = await runKeystoneReconfigure({
      client,
      docker: dockerForHost(lab.record.spec.runtime.docker.hosts[0]!),
      lab,
      author: 'patchbay-demo',
      steps: ['reconfigure', 'rollback'],
      say,
      onProgress: () => progressPrinter(io.err),
      onResult: (result) => say(renderChangeResult(lab.name, result)),
    });
    const configSteps = reconfigure.steps.filter((r) => r.step !== 'deploy');
    say('\n== what happened');
    if (wholeRun)
      say(
        ` load through HAProxy for the whole run: ${wholeRun.failed} failed of ${wholeRun.requests} requests in ${wholeRun.seconds.toFixed(0)} s${wholeRun.failed > 0 ? ' (every one while Keystone was stopped for its database restore, below)' : ''}`,
      );
    for (const r of reports) say(` ${stepKept(r) ? 'ok  ' : 'FAIL'} ${r.title}\n${describe(r)}`);
    if (reconfigure.wholeRun)
      say(
        ` load through HAProxy for the reconfiguration: ${reconfigure.wholeRun.failed} failed of ${reconfigure.wholeRun.requests} requests in ${reconfigure.wholeRun.seconds.toFixed(0)} s`,
      );
    for (const r of configSteps)
      say(` ${reconfigureStepKept(r) ? 'ok  ' : 'FAIL'} ${r.title}\n${describeReconfigure(r)}`);
    const page = await client.history(lab.name, { limit: 8 });
    say(`\n== history of ${lab.name}\n${renderHistory(page.revisions, page.current)}`);
    if (stack.uiUrl)
      say(
        `\nWeb UI: ${stack.uiUrl}/namespaces/default/workflows (stops with this demo; "npx patchbay dev" brings it back with the same history)`,
      );
    say(
      `The cloud keeps running: curl ${lab.keystoneUrl}/v3. Remove it: docker rm -f $(docker ps -aq --filter label=io.patchbay.cloud=${lab.name})`,
    );
    const ok =
      reports.length === 7 &&
      reports.every(stepKept) &&
      // Every failed request lies in the restore's window (Keystone stopped while its database goes back).
      wholeRun?.failed === (reports.find((r) => r.step === 'restore')?.load?.failed ?? 0) &&
      configSteps.length === 2 &&
      reconfigure.steps.every(reconfigureStepKept) &&
      reconfigure.wholeRun?.failed === 0;
    if (asJson)
      io.out(
        JSON.stringify(
          { cloud: lab.name, ok, steps: reports, wholeRun, reconfigure, webUi: stack.uiUrl },
          null,
          2,
        ),
      );
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
