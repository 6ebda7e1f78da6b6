// The operator's scenarios on real Keystone, measured: deploy the sample cloud, then under a bounded
// token load through HAProxy (1) patch Keystone to the security fix, (2) revert it, (3) try a broken
// build and watch it roll back by itself. After each step: what every Keystone container runs
// (dpkg-query inside it), whether any other container was touched, whether a token issued before
// the first patch still validates, and what the load saw. Used by `patchbay demo` and the e2e test.
import type Docker from 'dockerode';
import type { ChangeWatch, PatchbayClient } from '../client/patchbayClient';
import type { ChangeAccepted } from '../workflows/messages';
import type { ChangeResult } from '../workflows/types';
import { changedContainers, cloudSnapshot, debianPackageVersion } from './containers';
import { startLoad, summarise, type Load, type LoadSummary } from './httpLoad';
import { issueToken, keystoneRequests, tokenIsValid, waitForKeystone } from './keystone';
import { withImage } from '../record/withImage';
import { KEYSTONE, type Lab } from './openstackLab';
import { KEYSTONE_27, KEYSTONE_27_PACKAGE, keystoneUpgradeRecord } from './keystoneUpgrade';

export type ScenarioName =
  'deploy' | 'patch' | 'revert' | 'bad-patch' | 'upgrade' | 'rollback-refused' | 'restore';

export interface ScenarioReport {
  step: ScenarioName;
  title: string;
  revision: number;
  outcome: string;
  reason?: string;
  seconds: number;
  /** What the clients saw, from 2 s before the change to 2 s after it (not for deploy). */
  load?: LoadSummary;
  /** Keystone container name → installed keystone package version. */
  keystonePackages: Record<string, string>;
  /** Containers of the other services compared by id and start time, and those that changed. */
  others?: { compared: number; changed: string[] };
  /** Whether the token issued right after deploy still validates. */
  earlyTokenValid?: boolean;
  /** The upgrade steps: whether the admin can authenticate (a new token) once the step ended. */
  adminCanAuthenticate?: boolean;
  /** The upgrade's migration phases (stage, exit code, seconds) and the restore's loss window. */
  migrations?: Array<{ stage: string; exitCode: number; seconds: number }>;
  restore?: NonNullable<ChangeResult['services'][number]['restore']>;
}

export interface ScenarioDeps {
  client: PatchbayClient;
  docker: Docker;
  lab: Lab;
  author: string;
  /** A line for people: what is about to happen. */
  say?: (line: string) => void;
  onProgress?: () => (watch: ChangeWatch) => void;
  /** Each change's full result, as it ends. */
  onResult?: (result: ChangeResult) => void;
  /** Clients of the load (default 4: two issue tokens, two read /v3). */
  concurrency?: number;
  /**
   * Then Keystone 22 -> 27 across its schema change (keystoneUpgrade.ts), a rollback refused, and
   * one with --restore-database.
   */
  upgrade?: boolean;
}

const OTHERS = ['mariadb', 'glance', 'placement', 'haproxy'];
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function keystonePackages(deps: ScenarioDeps): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const c of (await cloudSnapshot(deps.docker, deps.lab.name)).values()) {
    if (c.service === 'keystone' && c.running && !c.name.includes('--retired'))
      out[c.name] = await debianPackageVersion(deps.docker, c.id, 'keystone');
  }
  return out;
}

/**
 * What each step should end as: the outcome, the keystone package every instance runs, and whether
 * the load may see failures (a restore stops every Keystone: it is not a rolling operation).
 */
export const EXPECTED: Record<
  ScenarioName,
  { outcome: ChangeResult['outcome'] | 'refused'; keystone: string | RegExp; downtime?: true }
> = {
  deploy: { outcome: 'applied', keystone: KEYSTONE.oldPackage },
  patch: { outcome: 'applied', keystone: KEYSTONE.fixedPackage },
  revert: { outcome: 'applied', keystone: KEYSTONE.oldPackage },
  'bad-patch': { outcome: 'rolled-back', keystone: KEYSTONE.oldPackage },
  upgrade: { outcome: 'applied', keystone: KEYSTONE_27_PACKAGE },
  'rollback-refused': { outcome: 'refused', keystone: KEYSTONE_27_PACKAGE },
  restore: { outcome: 'applied', keystone: KEYSTONE.oldPackage, downtime: true },
};

const matches = (version: string, expected: string | RegExp): boolean =>
  typeof expected === 'string' ? version === expected : expected.test(version);

/** Whether a step behaved as promised: its outcome, its versions, zero failed requests, nothing else touched. */
export function stepKept(report: ScenarioReport): boolean {
  const expected = EXPECTED[report.step];
  const versions = Object.values(report.keystonePackages);
  return (
    report.outcome === expected.outcome &&
    versions.length === 3 &&
    versions.every((v) => matches(v, expected.keystone)) &&
    (expected.downtime || (report.load?.failed ?? 0) === 0) &&
    (report.others?.changed.length ?? 0) === 0 &&
    report.earlyTokenValid !== false &&
    report.adminCanAuthenticate !== false
  );
}

export interface ScenarioRun {
  steps: ScenarioReport[];
  /** Every request of the load, from right after deploy to the end of the last change. */
  wholeRun: LoadSummary | null;
}

export async function runKeystoneScenarios(deps: ScenarioDeps): Promise<ScenarioRun> {
  const { client, lab } = deps;
  const say = deps.say ?? (() => undefined);
  const reports: ScenarioReport[] = [];
  let earlyToken = '';
  let load: Load | null = null;

  const change = async (
    step: ScenarioName,
    title: string,
    send: () => Promise<ChangeAccepted>,
  ): Promise<ScenarioReport> => {
    say(`\n== ${title}`);
    const before = await cloudSnapshot(deps.docker, lab.name);
    // The load runs from deploy to the end; each change is judged on its own window of it.
    const from = Date.now();
    if (load) await settle(2_000);
    const t0 = Date.now();
    let result: Pick<ChangeResult, 'revision' | 'reason' | 'services'> & { outcome: string };
    try {
      const accepted = await send();
      result = await client.waitForChange(lab.name, accepted, deps.onProgress?.());
      deps.onResult?.(result as ChangeResult);
    } catch (error) {
      // A refusal (a rollback across a contract): no revision, nothing should have moved.
      if (step !== 'rollback-refused') throw error;
      result = { revision: 0, outcome: 'refused', reason: (error as Error).message, services: [] };
    }
    const seconds = (Date.now() - t0) / 1000;
    if (load) await settle(2_000);
    const to = Date.now();
    const keystone = result.services.find((s) => s.service === 'keystone');
    const report: ScenarioReport = {
      step,
      title,
      revision: result.revision,
      outcome: result.outcome,
      reason: result.reason,
      seconds,
      ...(keystone?.migrations && {
        migrations: keystone.migrations.phases.map((p) => ({
          stage: p.stage,
          exitCode: p.exitCode,
          seconds: p.durationMs / 1000,
        })),
      }),
      ...(keystone?.restore && { restore: keystone.restore }),
      load: load && step !== 'deploy' ? summarise(load.samples, from, to) : undefined,
      keystonePackages: await keystonePackages(deps),
    };
    if (step === 'deploy') {
      if (result.outcome !== 'applied') {
        reports.push(report);
        return report;
      }
      await waitForKeystone(lab.keystoneUrl, 120_000);
      earlyToken = await issueToken(lab.keystoneUrl, lab.adminPassword);
      load = startLoad({
        baseUrl: lab.keystoneUrl,
        concurrency: deps.concurrency ?? 4,
        request: keystoneRequests(lab.adminPassword),
        maxRequests: 500_000,
        maxMs: 20 * 60_000,
      });
    } else {
      report.others = changedContainers(before, await cloudSnapshot(deps.docker, lab.name), OTHERS);
      report.earlyTokenValid = await tokenIsValid(lab.keystoneUrl, lab.adminPassword, earlyToken);
      if (deps.upgrade)
        report.adminCanAuthenticate = await issueToken(lab.keystoneUrl, lab.adminPassword).then(
          () => true,
          () => false,
        );
    }
    reports.push(report);
    return report;
  };

  const base = lab.record;
  const options = (message: string) => ({ message, author: deps.author });
  const steps = async (): Promise<void> => {
    const deployed = await change(
      'deploy',
      `deploy ${lab.name}: MariaDB, Keystone x3, Glance, Placement, HAProxy`,
      () => client.apply(base, options('demo: deploy the sample OpenStack cloud')),
    );
    if (deployed.outcome !== 'applied') return;
    await change(
      'patch',
      `Scenario 1: Keystone security fix ${KEYSTONE.old} -> ${KEYSTONE.fixed}, under load`,
      () =>
        client.apply(withImage(base, 'keystone', KEYSTONE.fixed), options('Keystone security fix (deb12u6)')),
    );
    await change('revert', 'Scenario 2: revert Keystone to the previous revision, under load', () =>
      client.rollback(lab.name, {
        service: 'keystone',
        ...options('revert: a third-party integration needs the old behaviour'),
      }),
    );
    await change(
      'bad-patch',
      `a bad patch (${KEYSTONE.broken}: answers 500): automatic rollback, under load`,
      () => client.apply(withImage(base, 'keystone', KEYSTONE.broken), options('a broken Keystone build')),
    );
    if (!deps.upgrade) return;
    const upgraded = await change(
      'upgrade',
      `Keystone 22 -> 27 (${KEYSTONE_27}): check, snapshot, expand, rolling replace, contract, under load`,
      () => client.apply(keystoneUpgradeRecord(base, lab), options('upgrade Keystone to 27 (2025.1)')),
    );
    if (upgraded.outcome !== 'applied') return;
    await change('rollback-refused', 'a rollback of Keystone to 22 after the contract: refused', () =>
      client.rollback(lab.name, { service: 'keystone', ...options('back to 22') }),
    );
    await change(
      'restore',
      'rollback --restore-database: Keystone 22 on the snapshot taken before the expand',
      () =>
        client.rollback(lab.name, {
          service: 'keystone',
          restoreDatabase: true,
          ...options('back to 22, with its database'),
        }),
    );
  };
  // Assigned inside change(): TypeScript cannot see that from here.
  const running = (): Load | null => load;
  try {
    await steps();
  } finally {
    await running()?.stop();
  }
  const whole = running();
  return { steps: reports, wholeRun: whole ? summarise(whole.samples) : null };
}
