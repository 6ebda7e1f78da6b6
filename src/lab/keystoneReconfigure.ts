// A configuration change on real Keystone, measured (issue 18): deploy the sample cloud, then under a
// bounded token load through HAProxy (1) change `[token] expiration` through the record (an INI
// override merged into keystone.conf, as Kolla's config overrides are), (2) `rollback` Keystone to
// the previous revision's files, (3) try a keystone.conf Keystone cannot load and watch it roll back
// by itself. After each step: which Keystone containers were replaced, whether any other container
// was touched, what every Keystone container's keystone.conf says (read inside it), the lifetime of
// tokens issued afterwards (expires_at - issued_at), and what the load saw. Used by the end-to-end
// test, the demo and bench:reconfigure.
import type Docker from 'dockerode';
import { parse as parseIni } from 'ini';
import type { ChangeWatch, PatchbayClient } from '../client/patchbayClient';
import { configFilesOf, mergeIniOverrides } from '../record/configFiles';
import type { CloudRecord } from '../record/schema';
import type { ChangeAccepted } from '../workflows/messages';
import type { ChangeResult } from '../workflows/types';
import { changedContainers, cloudSnapshot, execIn, type ContainerSnapshot } from './containers';
import { startLoad, summarise, type Load, type LoadSummary } from './httpLoad';
import {
  issueToken,
  keystoneRequests,
  tokenIsValid,
  tokenLifetimeSeconds,
  waitForKeystone,
} from './keystone';
import type { Lab } from './openstackLab';

export const KEYSTONE_CONF = '/etc/keystone/keystone.conf';
/** Token lifetimes (s): the example's ([token] expiration in its override), and the reconfigured one. */
export const LIFETIME = { before: 3600, after: 7200 };
/** The override each step merges into keystone.conf. */
export const OVERRIDES = {
  reconfigure: `[token]\nexpiration = ${LIFETIME.after}\n`,
  // uWSGI starts, but Keystone's application cannot load: /v3 answers 500, the health gate fails.
  bad: '[token]\nprovider = patchbay-no-such-provider\n',
};

export type ReconfigureStepName = 'deploy' | 'reconfigure' | 'rollback' | 'bad-config';

export interface ReconfigureReport {
  step: ReconfigureStepName;
  title: string;
  revision: number;
  outcome: string;
  reason?: string;
  seconds: number;
  /** What the clients saw, from 2 s before the change to 2 s after it (not for deploy). */
  load?: LoadSummary;
  /** Keystone containers running after the step, and how many of them are not the ones before it. */
  keystone: { running: number; replaced: number };
  /** `[token]` of each running Keystone container's keystone.conf, read inside it. */
  tokenSections: Array<{ expiration?: string; provider?: string }>;
  /** Whether every running Keystone's keystone.conf has its secret references resolved (a password, not a reference). */
  secretsResolved: boolean;
  /** expires_at - issued_at of tokens issued through HAProxy after the step (s). */
  tokenLifetimes: number[];
  /** Containers of the other services compared by id and start time, and those that changed. */
  others?: { compared: number; changed: string[] };
  /** Whether the token issued right after deploy still validates. */
  earlyTokenValid?: boolean;
}

/** What each step should end as: its outcome and the token lifetime Keystone then gives. */
export const RECONFIGURE_EXPECTED: Record<
  ReconfigureStepName,
  { outcome: ChangeResult['outcome']; lifetime: number }
> = {
  deploy: { outcome: 'applied', lifetime: LIFETIME.before },
  reconfigure: { outcome: 'applied', lifetime: LIFETIME.after },
  rollback: { outcome: 'applied', lifetime: LIFETIME.before },
  'bad-config': { outcome: 'rolled-back', lifetime: LIFETIME.before },
};

/** Whether a step behaved as promised: outcome, lifetime in files and tokens, zero failed requests, nothing else touched. */
export function reconfigureStepKept(report: ReconfigureReport): boolean {
  const expected = RECONFIGURE_EXPECTED[report.step];
  return (
    report.outcome === expected.outcome &&
    report.keystone.running === 3 &&
    report.tokenSections.every(
      (t) => t.expiration === String(expected.lifetime) && t.provider === 'fernet',
    ) &&
    report.secretsResolved &&
    report.tokenLifetimes.length > 0 &&
    report.tokenLifetimes.every((s) => Math.abs(s - expected.lifetime) <= 2) &&
    (report.load?.failed ?? 0) === 0 &&
    (report.others?.changed.length ?? 0) === 0 &&
    report.earlyTokenValid !== false
  );
}

/** `record` with an INI override merged into one service's config file, as a site override would be. */
export function withConfigOverride(
  record: CloudRecord,
  service: string,
  path: string,
  override: string,
): CloudRecord {
  return {
    ...record,
    spec: {
      ...record.spec,
      services: record.spec.services.map((s) => {
        if (s.name !== service) return s;
        const files = configFilesOf(s);
        const file = files[path];
        if (!file) throw new Error(`${service} has no config file ${path}`);
        return {
          ...s,
          config: { ...files, [path]: { ...file, content: mergeIniOverrides(file.content, [override]) } },
        };
      }),
    },
  };
}

export interface ReconfigureDeps {
  client: PatchbayClient;
  docker: Docker;
  lab: Lab;
  author: string;
  /** Steps after deploy (default: reconfigure, rollback, bad-config). */
  steps?: Array<Exclude<ReconfigureStepName, 'deploy'>>;
  /** A line for people: what is about to happen. */
  say?: (line: string) => void;
  onProgress?: () => (watch: ChangeWatch) => void;
  onResult?: (result: ChangeResult) => void;
  /** Clients of the load (default 4: two issue tokens, two read /v3). */
  concurrency?: number;
  /** Tokens issued after each step to read their lifetime (default 6: every replica twice, round robin). */
  tokens?: number;
}

export interface ReconfigureRun {
  steps: ReconfigureReport[];
  /** Every request of the load, from right after deploy to the end of the last change. */
  wholeRun: LoadSummary | null;
}

const OTHERS = ['mariadb', 'glance', 'placement', 'haproxy'];
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));
const runningKeystones = (snapshot: Map<string, ContainerSnapshot>) =>
  [...snapshot.values()].filter(
    (c) => c.service === 'keystone' && c.running && !c.name.includes('--retired'),
  );

async function tokenSections(
  docker: Docker,
  containers: ContainerSnapshot[],
): Promise<{ sections: ReconfigureReport['tokenSections']; secretsResolved: boolean }> {
  const sections: ReconfigureReport['tokenSections'] = [];
  let secretsResolved = true;
  for (const c of containers) {
    const text = await execIn(docker, c.id, ['cat', KEYSTONE_CONF]);
    const ini = parseIni(text) as { token?: { expiration?: string; provider?: string } };
    sections.push({ expiration: ini.token?.expiration, provider: ini.token?.provider });
    if (text.includes('{{')) secretsResolved = false;
  }
  return { sections, secretsResolved };
}

export async function runKeystoneReconfigure(deps: ReconfigureDeps): Promise<ReconfigureRun> {
  const { client, lab } = deps;
  const say = deps.say ?? (() => undefined);
  const reports: ReconfigureReport[] = [];
  let earlyToken = '';
  let load: Load | null = null;

  const change = async (
    step: ReconfigureStepName,
    title: string,
    send: () => Promise<ChangeAccepted>,
  ): Promise<ReconfigureReport> => {
    say(`\n== ${title}`);
    const before = await cloudSnapshot(deps.docker, lab.name);
    const from = Date.now();
    if (load) await settle(2_000);
    const t0 = Date.now();
    const accepted = await send();
    const result = await client.waitForChange(lab.name, accepted, deps.onProgress?.());
    const seconds = (Date.now() - t0) / 1000;
    deps.onResult?.(result);
    if (load) await settle(2_000);
    const to = Date.now();
    const after = await cloudSnapshot(deps.docker, lab.name);
    const keystones = runningKeystones(after);
    const kept = new Set(runningKeystones(before).map((c) => c.id));
    const files = await tokenSections(deps.docker, keystones);
    if (step === 'deploy' && result.outcome === 'applied') await waitForKeystone(lab.keystoneUrl, 120_000);
    const lifetimes: number[] = [];
    if (result.outcome === 'applied' || result.outcome === 'rolled-back')
      for (let i = 0; i < (deps.tokens ?? 6); i++)
        lifetimes.push(await tokenLifetimeSeconds(lab.keystoneUrl, lab.adminPassword));
    const report: ReconfigureReport = {
      step,
      title,
      revision: result.revision,
      outcome: result.outcome,
      reason: result.reason,
      seconds,
      load: load && step !== 'deploy' ? summarise(load.samples, from, to) : undefined,
      keystone: { running: keystones.length, replaced: keystones.filter((c) => !kept.has(c.id)).length },
      tokenSections: files.sections,
      secretsResolved: files.secretsResolved,
      tokenLifetimes: lifetimes,
    };
    if (step === 'deploy') {
      if (result.outcome === 'applied') {
        earlyToken = await issueToken(lab.keystoneUrl, lab.adminPassword);
        load = startLoad({
          baseUrl: lab.keystoneUrl,
          concurrency: deps.concurrency ?? 4,
          request: keystoneRequests(lab.adminPassword),
          maxRequests: 500_000,
          maxMs: 20 * 60_000,
        });
      }
    } else {
      report.others = changedContainers(before, after, OTHERS);
      report.earlyTokenValid = await tokenIsValid(lab.keystoneUrl, lab.adminPassword, earlyToken);
    }
    reports.push(report);
    return report;
  };

  const base = lab.record;
  const options = (message: string) => ({ message, author: deps.author });
  const wanted = deps.steps ?? ['reconfigure', 'rollback', 'bad-config'];
  const steps = async (): Promise<void> => {
    const deployed = await change(
      'deploy',
      `deploy ${lab.name} (or find it deployed): MariaDB, Keystone x3, Glance, Placement, HAProxy`,
      () => client.apply(base, options('deploy the sample OpenStack cloud')),
    );
    if (deployed.outcome !== 'applied') return;
    if (wanted.includes('reconfigure'))
      await change(
        'reconfigure',
        `reconfigure Keystone: [token] expiration ${LIFETIME.before} -> ${LIFETIME.after} s (an override merged into keystone.conf), under load`,
        () =>
          client.apply(
            withConfigOverride(base, 'keystone', KEYSTONE_CONF, OVERRIDES.reconfigure),
            options(`keystone.conf: [token] expiration = ${LIFETIME.after}`),
          ),
      );
    if (wanted.includes('rollback'))
      await change('rollback', "roll Keystone back to the previous revision's files, under load", () =>
        client.rollback(lab.name, {
          service: 'keystone',
          ...options('revert: keep tokens at one hour'),
        }),
      );
    if (wanted.includes('bad-config'))
      await change(
        'bad-config',
        'a keystone.conf Keystone cannot load ([token] provider that does not exist): automatic rollback, under load',
        () =>
          client.apply(
            withConfigOverride(base, 'keystone', KEYSTONE_CONF, OVERRIDES.bad),
            options('keystone.conf: a token provider that does not exist'),
          ),
      );
  };
  const running = (): Load | null => load;
  try {
    await steps();
  } finally {
    await running()?.stop();
  }
  const whole = running();
  return { steps: reports, wholeRun: whole ? summarise(whole.samples) : null };
}
