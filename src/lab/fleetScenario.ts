// The operator's response to a Keystone CVE across a fleet of real clouds (fleet.ts), measured:
//   1. inventory: which clouds run the vulnerable Keystone, grouped by image (and dpkg-query in each
//      Keystone container says which package that is);
//   2. a campaign over exactly those clouds, started by the scripted launcher
//      (examples/launch-campaign.ts, on Patchbay's client library) as a team's automation would:
//      canary first, a bake, then the rest after an approval sent with the `temporal` CLI (the
//      documented update, as another system would send it);
//   3. inventory again: every cloud on the fix, each Keystone container's package, MariaDB and
//      HAProxy untouched (same container id and start time);
//   4. a second campaign with a broken build: the canary's gate fails within seconds, the canary
//      rolls back by itself, the failure budget halts the campaign, no other cloud is touched.
// A bounded token + /v3 load runs through every cloud's HAProxy from before the first campaign to
// after the second: failed requests per cloud, per campaign. HAProxy's own view (its Runtime API)
// says how long each Keystone was out of service. Used by `patchbay demo --fleet`, the fleet e2e
// test and `bench:campaign --openstack`.
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import type { CampaignClient } from '../client/campaignClient';
import type { PatchbayClient } from '../client/patchbayClient';
import { PROJECT_ROOT } from '../lib/config';
import { parseShowStat, runtimeApiCommand } from '../runtime/haproxy';
import type { ServiceInventory } from '../store/inventoryStore';
import type { CampaignProgress, CloudStatus } from '../workflows/campaignTypes';
import { changedContainers, cloudSnapshot, debianPackageVersion, type ContainerSnapshot } from './containers';
import type { FleetCloud } from './fleet';
import { startLoad, summarise, type Load, type LoadSummary } from './httpLoad';
import { keystoneRequests } from './keystone';
import { KEYSTONE } from './openstackLab';

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FINISHED = ['completed', 'halted', 'aborted'];
export const LAUNCHER = path.join(PROJECT_ROOT, 'examples', 'launch-campaign.ts');

/** What the launcher printed (examples/launch-campaign.ts --json). */
export interface Launched {
  campaign: string | null;
  workflowId: string | null;
  clouds: string[];
  cloudWorkflowIds: Record<string, string>;
  others: Record<string, string[]>;
}

/** Runs the scripted launcher as its own program (from the project folder, so `patchbay` resolves to the sources). */
export function runLauncher(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Launched> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', LAUNCHER, ...args, '--json'], {
      cwd: PROJECT_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{'))
        return reject(new Error(`examples/launch-campaign.ts exited ${code}: ${err.trim() || out.trim()}`));
      resolve(JSON.parse(line) as Launched);
    });
  });
}

export interface TemporalCli {
  binary: string;
  address: string;
  namespace: string;
}

/** The approve update from the `temporal` CLI, as README "Messages (for other systems)" documents it. */
export async function approveWithTemporalCli(
  cli: TemporalCli,
  campaign: string,
  wave: number,
  by: string,
  reason: string,
): Promise<{ command: string; output: string }> {
  const args = [
    'workflow',
    'update',
    'execute',
    '--workflow-id',
    `campaign:${campaign}`,
    '--name',
    'patchbay.campaign.approve',
    '--input',
    JSON.stringify({ by, wave, reason }),
    '--address',
    cli.address,
    '--namespace',
    cli.namespace,
  ];
  const { stdout } = await promisify(execFile)(cli.binary, args, { timeout: 60_000 });
  const shown = args.map((a) => (a.startsWith('{') ? `'${a}'` : a));
  return { command: `temporal ${shown.join(' ')}`, output: stdout.trim() };
}

/** How long each HAProxy server of a backend was out of service (status other than UP), from `show stat` every 250 ms. */
export interface ServerOutage {
  server: string;
  /** All the time it was not UP. */
  seconds: number;
  /** The statuses seen while it was out (DRAIN, MAINT, DOWN…). */
  statuses: string[];
}

interface ServerWatch {
  stop(): Promise<ServerOutage[]>;
}

function watchServers(socket: string, backend: string, everyMs = 250): ServerWatch {
  const out = new Map<string, { since: number | null; ms: number; statuses: Set<string> }>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const stats = parseShowStat(await runtimeApiCommand(`unix://${socket}`, 'show stat', 2_000));
        const now = Date.now();
        for (const s of stats.filter((x) => x.backend === backend)) {
          const entry = out.get(s.server) ?? { since: null, ms: 0, statuses: new Set<string>() };
          out.set(s.server, entry);
          const up = s.status.startsWith('UP');
          if (!up) entry.statuses.add(s.status);
          if (!up && entry.since === null) entry.since = now;
          if (up && entry.since !== null) [entry.ms, entry.since] = [entry.ms + now - entry.since, null];
        }
      } catch {
        // A socket that does not answer for a moment: the next poll tells.
      }
      await settle(everyMs);
    }
  })();
  let result: Promise<ServerOutage[]> | null = null;
  return {
    // Once: a second call (the scenario's clean-up after a failure) gets the same answer.
    stop: () =>
      (result ??= (async () => {
        stopped = true;
        await loop;
        const now = Date.now();
        return [...out.entries()].map(([server, e]) => ({
          server,
          seconds: (e.ms + (e.since !== null ? now - e.since : 0)) / 1000,
          statuses: [...e.statuses],
        }));
      })()),
  };
}

export interface FleetCampaignReport {
  title: string;
  id: string;
  workflowId: string;
  /** The clouds the launcher found exposed, in launch order (the first is the canary). */
  selected: string[];
  /** Each selected cloud's workflow in the campaign (for the Web UI). */
  cloudWorkflowIds: Record<string, string>;
  phase: string;
  haltReason: string | null;
  /** Wall time from the launcher's start to the campaign's end, as the operator waits for it. */
  seconds: number;
  /** The campaign workflow's own time, start to finish (its startedAt/finishedAt). */
  workflowSeconds: number;
  statuses: Record<string, CloudStatus>;
  /** Each cloud's own change (its revision, accepted -> finished), from the record store. */
  patchSeconds: Record<string, number>;
  /** The approval, when the campaign asked for one: the temporal CLI command and what it answered. */
  approval?: { wave: number; command: string; output: string; afterSeconds: number };
  /** Per cloud: the load through its HAProxy from 2 s before the campaign to 2 s after it. */
  load: Record<string, LoadSummary>;
  /** Per cloud: Keystone container -> keystone package (dpkg-query -W keystone), after the campaign. */
  keystonePackages: Record<string, Record<string, string>>;
  /** Per cloud: the containers that should be untouched, compared by id and start time. */
  untouched: Record<string, { services: string[]; compared: number; changed: string[] }>;
  /** Per cloud: how long each Keystone was out of HAProxy's rotation. */
  outOfService: Record<string, ServerOutage[]>;
}

export interface FleetScenarioReport {
  clouds: Array<Pick<FleetCloud, 'name' | 'region' | 'tier' | 'image' | 'keystoneUrl'>>;
  inventoryBefore: ServiceInventory;
  /** Per cloud: Keystone container -> keystone package, before the first campaign. */
  packagesBefore: Record<string, Record<string, string>>;
  first: FleetCampaignReport | null;
  inventoryAfter: ServiceInventory | null;
  second: FleetCampaignReport | null;
  /** Per cloud: every request of the load, from before the first campaign to after the last. */
  wholeRun: Record<string, LoadSummary>;
}

export interface FleetScenarioDeps {
  client: PatchbayClient;
  campaigns: CampaignClient;
  docker: Docker;
  clouds: FleetCloud[];
  /** Environment of the launcher's process (Temporal, task queue, record store). */
  launcherEnv: NodeJS.ProcessEnv;
  temporalCli: TemporalCli;
  /** Campaign names: <prefix>-fix and <prefix>-broken. */
  campaignPrefix: string;
  /** Wait after the canary (default 5s). */
  bake?: string;
  /** Load clients per cloud (default 2: one issues tokens, one reads /v3) and their pause between requests. */
  concurrency?: number;
  pauseMs?: number;
  /** Only the first campaign (the bench). */
  skipBroken?: boolean;
  /** Whether the rest of the first campaign waits for an approval (default true). */
  approval?: boolean;
  say?: (line: string) => void;
  onProgress?: () => (p: CampaignProgress) => void;
}

async function keystonePackages(docker: Docker, cloud: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const c of (await cloudSnapshot(docker, cloud)).values())
    if (c.service === 'keystone' && c.running && !c.name.includes('--retired'))
      out[c.name] = await debianPackageVersion(docker, c.id, 'keystone');
  return out;
}

async function fleetPackages(
  docker: Docker,
  clouds: FleetCloud[],
): Promise<Record<string, Record<string, string>>> {
  const out: Record<string, Record<string, string>> = {};
  for (const c of clouds) out[c.name] = await keystonePackages(docker, c.name);
  return out;
}

/** The inventory as people read it: per image, the clouds and the package their Keystones run. */
export function describeInventory(
  inv: ServiceInventory,
  packages: Record<string, Record<string, string>>,
): string {
  const lines = [`${inv.service} across ${inv.clouds} managed clouds, by image:`];
  for (const image of inv.images) {
    const pkgs = [...new Set(image.clouds.flatMap((c) => Object.values(packages[c] ?? {})))];
    lines.push(
      `  ${image.image}  (${image.count} cloud${image.count === 1 ? '' : 's'}; dpkg-query: keystone ${pkgs.join(', ') || '?'})`,
    );
    for (const c of image.clouds)
      lines.push(
        `    ${c.padEnd(22)} ${Object.entries(packages[c] ?? {})
          .map(([name, v]) => `${name.replace(`pb-${c}-`, '')}=${v}`)
          .join('  ')}`,
      );
  }
  return lines.join('\n');
}

export async function runFleetScenario(deps: FleetScenarioDeps): Promise<FleetScenarioReport> {
  const { client, docker, clouds } = deps;
  const say = deps.say ?? (() => undefined);
  const loads = new Map<string, Load>();
  const watching = new Set<ServerWatch>();
  const names = clouds.map((c) => c.name);
  const report: FleetScenarioReport = {
    clouds: clouds.map(({ name, region, tier, image, keystoneUrl }) => ({
      name,
      region,
      tier,
      image,
      keystoneUrl,
    })),
    inventoryBefore: await client.inventory.byService('keystone', { labels: { fleet: 'keystone' } }),
    packagesBefore: await fleetPackages(docker, clouds),
    first: null,
    inventoryAfter: null,
    second: null,
    wholeRun: {},
  };
  say(`\n== inventory: which clouds run the vulnerable Keystone (${KEYSTONE.oldPackage})?`);
  say(describeInventory(report.inventoryBefore, report.packagesBefore));

  const campaign = async (
    title: string,
    name: string,
    launchArgs: string[],
    untouched: (cloud: string, selected: string[], canary: string) => string[],
  ): Promise<FleetCampaignReport> => {
    say(`\n== ${title}`);
    const before = new Map<string, Map<string, ContainerSnapshot>>();
    for (const c of names) before.set(c, await cloudSnapshot(docker, c));
    const watches = new Map(clouds.map((c) => [c.name, watchServers(c.haproxySocket, 'keystone')] as const));
    for (const w of watches.values()) watching.add(w);
    const from = Date.now();
    await settle(2_000);
    const t0 = Date.now();
    const launched = await runLauncher(
      ['--name', name, '--service', 'keystone', '--label', 'fleet=keystone', ...launchArgs],
      deps.launcherEnv,
    );
    if (!launched.campaign) throw new Error(`the launcher found no exposed cloud for ${name}`);
    say(
      `  examples/launch-campaign.ts (on the patchbay library) found ${launched.clouds.length} exposed cloud(s): ${launched.clouds.join(', ')}; ` +
        `started campaign ${launched.campaign} (workflow ${launched.workflowId})`,
    );
    const print = deps.onProgress?.();
    let approval: FleetCampaignReport['approval'];
    let progress: CampaignProgress;
    const deadline = Date.now() + 20 * 60_000;
    for (;;) {
      progress = await deps.campaigns.progress(launched.campaign);
      print?.(progress);
      if (FINISHED.includes(progress.phase)) break;
      const waiting = progress.waves.find((w) => w.approval && !w.approved);
      if (progress.phase === 'awaiting-approval' && waiting && !approval) {
        const afterSeconds = (Date.now() - t0) / 1000;
        const sent = await approveWithTemporalCli(
          deps.temporalCli,
          launched.campaign,
          waiting.index + 1,
          'change-board',
          'canary healthy: 0 failed requests, keystone package verified',
        );
        approval = { wave: waiting.index + 1, afterSeconds, ...sent };
        say(`  approval of wave ${waiting.index + 1}, as another system sends it:\n    ${sent.command}`);
        say(`    -> ${sent.output.split('\n').join(' ')}`);
      }
      if (Date.now() > deadline) throw new Error(`campaign ${launched.campaign} did not finish in 20 min`);
      await settle(1_000);
    }
    const seconds = (Date.now() - t0) / 1000;
    await settle(2_000);
    const to = Date.now();
    const outOfService: Record<string, ServerOutage[]> = {};
    for (const [cloud, w] of watches) outOfService[cloud] = await w.stop();
    const rows = await client
      .storeDb()
      .query<{ cloud: string; seconds: number | null }>(
        `SELECT cloud, extract(epoch FROM finished_at - created_at)::float8 AS seconds FROM revisions WHERE author = $1`,
        [`campaign:${launched.campaign}`],
      );
    const canary = launched.clouds[0]!;
    const result: FleetCampaignReport = {
      title,
      id: launched.campaign,
      workflowId: launched.workflowId!,
      selected: launched.clouds,
      cloudWorkflowIds: launched.cloudWorkflowIds,
      phase: progress.phase,
      haltReason: progress.haltReason,
      seconds,
      workflowSeconds: progress.finishedAt
        ? (Date.parse(progress.finishedAt) - Date.parse(progress.startedAt)) / 1000
        : NaN,
      statuses: Object.fromEntries(Object.values(progress.outcomes).map((o) => [o.cloud, o.status])),
      patchSeconds: Object.fromEntries(rows.map((r) => [r.cloud, r.seconds ?? NaN])),
      approval,
      load: Object.fromEntries([...loads].map(([c, l]) => [c, summarise(l.samples, from, to)])),
      keystonePackages: await fleetPackages(docker, clouds),
      untouched: {},
      outOfService,
    };
    for (const c of names) {
      const services = untouched(c, launched.clouds, canary);
      result.untouched[c] = {
        services,
        ...changedContainers(before.get(c)!, await cloudSnapshot(docker, c), services),
      };
    }
    return result;
  };

  try {
    say(
      `\n== load: ${deps.concurrency ?? 2} clients per cloud (tokens and GET /v3) through each cloud's HAProxy, for both campaigns`,
    );
    for (const c of clouds)
      loads.set(
        c.name,
        startLoad({
          baseUrl: c.keystoneUrl,
          concurrency: deps.concurrency ?? 2,
          request: keystoneRequests(c.adminPassword),
          pauseMs: deps.pauseMs ?? 20,
          maxRequests: 200_000,
          maxMs: 25 * 60_000,
        }),
      );
    report.first = await campaign(
      `campaign 1: the security fix ${KEYSTONE.fixed} on every cloud running ${KEYSTONE.old}, canary first, then the rest${deps.approval === false ? '' : ' after an approval'}`,
      `${deps.campaignPrefix}-fix`,
      [
        '--running',
        KEYSTONE.old,
        '--image',
        KEYSTONE.fixed,
        '--canary',
        '1',
        ...(deps.approval === false ? [] : ['--approval']),
        '--bake',
        deps.bake ?? '5s',
      ],
      // Patched clouds: their MariaDB and HAProxy; the others: every container.
      (cloud, selected) =>
        selected.includes(cloud) ? ['mariadb', 'haproxy'] : ['mariadb', 'keystone', 'haproxy'],
    );
    report.inventoryAfter = await client.inventory.byService('keystone', { labels: { fleet: 'keystone' } });
    say(`\n== inventory after campaign 1`);
    say(describeInventory(report.inventoryAfter, report.first.keystonePackages));
    if (!deps.skipBroken)
      report.second = await campaign(
        `campaign 2: a broken build (${KEYSTONE.broken}, answers 500) on every cloud running ${KEYSTONE.fixed}`,
        `${deps.campaignPrefix}-broken`,
        [
          '--running',
          KEYSTONE.fixed,
          '--image',
          KEYSTONE.broken,
          '--canary',
          '1',
          '--bake',
          deps.bake ?? '5s',
        ],
        // The canary: its MariaDB and HAProxy (its Keystones are replaced, then rolled back); the rest: everything.
        (cloud, _selected, canary) =>
          cloud === canary ? ['mariadb', 'haproxy'] : ['mariadb', 'keystone', 'haproxy'],
      );
  } finally {
    for (const l of loads.values()) await l.stop();
    for (const w of watching) await w.stop();
  }
  report.wholeRun = Object.fromEntries([...loads].map(([c, l]) => [c, summarise(l.samples)]));
  return report;
}

/** What the e2e test and the demo judge each campaign on (the demo prints it, the test asserts it piece by piece). */
export function fleetVerdict(r: FleetScenarioReport): string[] {
  const problems: string[] = [];
  const vulnerable = r.inventoryBefore.images.find((i) => i.image === KEYSTONE.old)?.clouds ?? [];
  const first = r.first;
  if (!first) return ['campaign 1 did not run'];
  if (JSON.stringify(first.selected) !== JSON.stringify(vulnerable))
    problems.push(
      `campaign 1 selected ${first.selected.join(', ')}, not the vulnerable ${vulnerable.join(', ')}`,
    );
  if (first.phase !== 'completed') problems.push(`campaign 1 ${first.phase}: ${first.haltReason ?? ''}`);
  if (!first.approval) problems.push('campaign 1 was never approved');
  for (const [cloud, pkgs] of Object.entries(first.keystonePackages))
    if (Object.values(pkgs).length !== 2 || Object.values(pkgs).some((v) => v !== KEYSTONE.fixedPackage))
      problems.push(`${cloud} runs ${Object.values(pkgs).join(', ')} after campaign 1`);
  const second = r.second;
  if (second) {
    const [canary, ...rest] = second.selected;
    if (second.phase !== 'halted') problems.push(`campaign 2 ${second.phase}, not halted`);
    if (second.statuses[canary!] !== 'rolled-back')
      problems.push(`campaign 2's canary ${second.statuses[canary!]}`);
    for (const c of rest)
      if (second.statuses[c] !== 'not-started') problems.push(`campaign 2: ${c} ${second.statuses[c]}`);
    for (const [cloud, pkgs] of Object.entries(second.keystonePackages))
      if (Object.values(pkgs).some((v) => v !== KEYSTONE.fixedPackage))
        problems.push(`${cloud} runs ${Object.values(pkgs).join(', ')} after campaign 2`);
  }
  for (const c of [first, ...(second ? [second] : [])]) {
    for (const [cloud, u] of Object.entries(c.untouched))
      if (u.changed.length) problems.push(`${c.id}: ${cloud}'s ${u.changed.join(', ')} changed`);
    for (const [cloud, l] of Object.entries(c.load))
      if (l.failed)
        problems.push(`${c.id}: ${l.failed} failed requests on ${cloud} (${l.failures.join('; ')})`);
  }
  for (const [cloud, l] of Object.entries(r.wholeRun))
    if (l.failed) problems.push(`${l.failed} failed requests on ${cloud} over the whole run`);
  return problems;
}
