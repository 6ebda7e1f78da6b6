// `patchbay demo --fleet [N]`: the CVE response across a fleet of N real OpenStack clouds
// (src/lab/fleet.ts; default 3: MariaDB, Keystone x2, HAProxy each, labelled region/tier; the last
// already on the fix) on the embedded stack. Inventory, a campaign over exactly the vulnerable clouds
// started by examples/launch-campaign.ts and approved through the `temporal` CLI, inventory again,
// then a broken build halted at its canary; all under a token load through every cloud's HAProxy.
import { temporalConfig, TEMPORAL_BIN } from '../lib/config';
import { deployFleet, fleetClouds, fleetSecretEnv } from '../lab/fleet';
import {
  describeInventory,
  fleetVerdict,
  runFleetScenario,
  type FleetCampaignReport,
  type FleetScenarioReport,
} from '../lab/fleetScenario';
import { dockerForHost } from '../runtime/dockerClient';
import { CampaignClient } from './campaignClient';
import { campaignPrinter } from './campaignRender';
import { startEmbeddedStack } from './dev';
import type { Io } from './fixtureDemo';
import { PatchbayClient } from './patchbayClient';

export const FLEET_ROOT = '/var/lib/patchbay/fleet';
/** The demo fleet's ports: 22000.. (the example's + 7000, + 400 per cloud). */
export const FLEET_PORT_BASE = 7000;

const s = (x: number) => `${x.toFixed(1)} s`;

/** The campaign's numbers as people read them. */
export function describeCampaign(c: FleetCampaignReport): string {
  const sum = Object.values(c.patchSeconds).reduce((a, b) => a + b, 0);
  const lines = [
    `   ${c.id}: ${c.phase.toUpperCase()} in ${s(c.seconds)} (launcher to end; the campaign workflow ${s(c.workflowSeconds)})${c.haltReason ? ` (${c.haltReason})` : ''}; per-cloud changes took ${Object.entries(
      c.patchSeconds,
    )
      .map(([cloud, x]) => `${cloud} ${s(x)}`)
      .join(', ')} (sum ${s(sum)})`,
  ];
  if (c.approval)
    lines.push(
      `   wave ${c.approval.wave} approved through the temporal CLI ${s(c.approval.afterSeconds)} in`,
    );
  for (const cloud of Object.keys(c.load)) {
    const l = c.load[cloud]!;
    const pkgs = [...new Set(Object.values(c.keystonePackages[cloud] ?? {}))];
    const u = c.untouched[cloud]!;
    const out = (c.outOfService[cloud] ?? []).filter((o) => o.seconds > 0);
    lines.push(
      `   ${cloud.padEnd(22)} ${(c.statuses[cloud] ?? 'not selected').padEnd(13)} keystone ${pkgs.join(', ')}; ` +
        `load ${l.failed} failed of ${l.requests}; ${u.services.join('+')} ${u.compared - u.changed.length}/${u.compared} untouched` +
        (out.length
          ? `; out of service: ${out.map((o) => `${o.server} ${s(o.seconds)} (${o.statuses.join('/')})`).join(', ')}`
          : ''),
    );
  }
  return lines.join('\n');
}

export function describeFleetRun(r: FleetScenarioReport): string {
  const lines: string[] = [];
  if (r.first) lines.push(' campaign 1 (security fix):', describeCampaign(r.first));
  if (r.second) {
    lines.push(' campaign 2 (broken build):', describeCampaign(r.second));
    const canary = r.second.selected[0]!;
    const worst = Math.max(0, ...(r.second.outOfService[canary] ?? []).map((o) => o.seconds));
    lines.push(
      `   the broken canary instance was out of service ${s(worst)} (HAProxy's view), then back on its previous build`,
    );
  }
  for (const [cloud, l] of Object.entries(r.wholeRun))
    lines.push(
      ` load through ${cloud}'s HAProxy for the whole run: ${l.failed} failed of ${l.requests} requests, p50 ${l.p50.toFixed(0)} ms, p99 ${l.p99.toFixed(0)} ms`,
    );
  return lines.join('\n');
}

export async function runFleetDemo(io: Io, count: number, asJson: boolean): Promise<number> {
  const say = asJson ? io.err : io.out;
  const clouds = fleetClouds({ count, root: FLEET_ROOT, portBase: FLEET_PORT_BASE });
  // The worker runs in this process and resolves every cloud's env: references from its environment.
  Object.assign(process.env, fleetSecretEnv(clouds));
  const stack = await startEmbeddedStack();
  const config = temporalConfig();
  const client = await PatchbayClient.connect(config);
  try {
    say(
      `demo: a fleet of ${count} real OpenStack clouds (MariaDB, Keystone x2, HAProxy each); state and passwords in ${FLEET_ROOT}/<cloud>`,
    );
    say('\n== deploy (or reset) the fleet');
    const deployed = await deployFleet(client, clouds, { author: 'patchbay-demo', say });
    const failed = deployed.filter((d) => d.outcome !== 'applied');
    if (failed.length) {
      say(`demo: ${failed.map((d) => `${d.cloud}: ${d.reason}`).join('; ')}`);
      return 1;
    }
    const report = await runFleetScenario({
      client,
      campaigns: new CampaignClient(client),
      docker: dockerForHost(clouds[0]!.record.spec.runtime.docker.hosts[0]!),
      clouds,
      launcherEnv: process.env,
      temporalCli: { binary: TEMPORAL_BIN, address: config.address, namespace: config.namespace },
      campaignPrefix: `keystone-cve-${Date.now().toString(36)}`,
      say,
      onProgress: () => campaignPrinter(io.err),
    });
    if (report.second) {
      say('\n== after campaign 2');
      say(describeInventory(report.inventoryAfter!, report.second.keystonePackages));
    }
    say('\n== what happened');
    say(describeFleetRun(report));
    const problems = fleetVerdict(report);
    if (stack.uiUrl && report.first)
      say(
        `\nWeb UI: ${stack.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(`CampaignId = "${report.first.id}"`)} (stops with this demo)`,
      );
    say(
      `The clouds keep running (${clouds.map((c) => c.keystoneUrl).join(', ')}). Remove them: ` +
        clouds
          .map((c) => `docker rm -f $(docker ps -aq --filter label=io.patchbay.cloud=${c.name})`)
          .join('; '),
    );
    if (asJson) io.out(JSON.stringify({ ok: problems.length === 0, problems, deployed, ...report }, null, 2));
    say(
      problems.length === 0
        ? '\ndemo: everything behaved as promised.'
        : `\ndemo: something did not behave as promised:\n  ${problems.join('\n  ')}`,
    );
    return problems.length === 0 ? 0 : 1;
  } finally {
    await client.close();
    await stack.stop();
  }
}
