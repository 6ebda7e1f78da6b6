// The `patchbay` command. Exit codes: 0 success; 1 the operation failed (rolled back, failed,
// environment missing); 2 bad usage or input refused before anything ran (invalid record, unknown
// cloud, cloud busy with another change). Each error code's exit code is in the failure catalogue
// (src/lib/failures.ts, README "Failures and exit codes").
import os from 'node:os';
import { Argument, Command, CommanderError, Option } from 'commander';
import { stringify as toYaml } from 'yaml';
import { PatchbayError } from '../lib/errors';
import { exitCodeOf } from '../lib/failures';
import { temporalConfig } from '../lib/config';
import { loadRecordFile } from '../record/load';
import { recordJsonSchema } from '../record/jsonSchema';
import { PatchbayClient } from './patchbayClient';
import { EMBEDDED_STORE_HOST, EMBEDDED_STORE_PORT, storeUrl } from '../store/config';
import { openDb, type Db } from '../store/db';
import { AuditStore } from '../store/auditStore';
import { InventoryStore } from '../store/inventoryStore';
import { runtimeView } from './views';
import { cloudStatus } from './status';
import {
  progressPrinter,
  renderAudit,
  renderChangeResult,
  renderError,
  renderHistory,
  renderInventory,
  renderPlan,
  renderRevisionHeader,
  renderServiceInventory,
  renderStatus,
} from './render';
import type { ChangeAccepted } from '../workflows/messages';
import type { OperatorAction } from '../workflows/types';
import type * as WorkerMain from '../worker/main';
import type * as AgentMain from '../agent/main';
import { describeHosts, renderHosts } from './hosts';
import type * as Dev from './dev';
import type * as Doctor from './doctor';
import type * as Demo from './demo';
import type * as FixtureDemo from './fixtureDemo';
import type * as FleetDemo from './fleetDemo';
import { addCampaignCommands } from './campaignCli';

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const defaultIo: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

/** Loads heavy modules (the worker's native bridge) only for the commands that need them. */
function lazy<T>(id: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(id) as T;
}

function defaultAuthor(): string {
  return process.env.PATCHBAY_AUTHOR || `${os.userInfo().username}@${os.hostname()}`;
}

/** A positive integer option (--limit, --before). */
function positiveInt(flag: string, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > max)
      throw new PatchbayError(
        'INVALID_INPUT',
        `${flag} must be a whole number from 1 to ${max} (got "${v}")`,
      );
    return Number(v);
  };
}

/** --label key=value, repeatable. */
function labelOption(v: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = v.indexOf('=');
  if (eq <= 0) throw new PatchbayError('INVALID_INPUT', `--label must be key=value (got "${v}")`);
  return { ...previous, [v.slice(0, eq)]: v.slice(eq + 1) };
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** Commands that read only the record store (clouds, audit): no Temporal needed. */
async function withStore<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const db = openDb(storeUrl().url, { max: 2 });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

async function withClient<T>(fn: (client: PatchbayClient) => Promise<T>): Promise<T> {
  const client = await PatchbayClient.connect(temporalConfig());
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** Waits for a change with live per-instance lines (stderr) and prints its result; exit 1 unless applied. */
async function followChange(
  client: PatchbayClient,
  cloud: string,
  accepted: ChangeAccepted,
  asJson: boolean,
  io: Io,
): Promise<number> {
  if (!asJson) io.err(`revision ${accepted.revision} accepted; running as workflow ${accepted.workflowId}`);
  const result = await client.waitForChange(cloud, accepted, asJson ? undefined : progressPrinter(io.err));
  io.out(
    asJson ? json({ cloud, workflowId: accepted.workflowId, ...result }) : renderChangeResult(cloud, result),
  );
  return result.outcome === 'applied' ? 0 : exitCodeOf('CHANGE_FAILED');
}

export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command('patchbay')
    .description(
      'Non-destructive lifecycle management for containerized OpenStack, as durable Temporal workflows.',
    )
    .addHelpText(
      'after',
      '\nExit codes: 0 success, 1 the operation failed (or was rolled back), 2 bad usage or input refused before anything ran.\n' +
        'Temporal: the embedded dev server on 127.0.0.1:7233 unless TEMPORAL_ADDRESS (and TEMPORAL_NAMESPACE,\n' +
        'TEMPORAL_TLS_CERT/TEMPORAL_TLS_KEY, TEMPORAL_TLS_CA, TEMPORAL_TLS_SERVER_NAME, TEMPORAL_API_KEY) say otherwise. PATCHBAY_TASK_QUEUE picks the task queue.\n' +
        `Record store: the embedded PostgreSQL on ${EMBEDDED_STORE_HOST}:${EMBEDDED_STORE_PORT} unless PATCHBAY_DATABASE_URL names another.`,
    )
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });
  const jsonOption = () => new Option('--json', 'print the result as JSON for programs');

  program
    .command('validate')
    .description('check a deployment record (schema and meaning); exit 2 with every problem if it is invalid')
    .argument('<file>', 'deployment record (YAML)')
    .addOption(jsonOption())
    .action((file: string, opts: { json?: boolean }) => {
      const record = loadRecordFile(file);
      io.out(
        opts.json
          ? json({ valid: true, cloud: record.metadata.name })
          : `${file}: valid record for cloud ${record.metadata.name}`,
      );
    });

  program
    .command('schema')
    .description('print the JSON Schema of deployment records (for editors)')
    .action(() => io.out(json(recordJsonSchema())));

  program
    .command('plan')
    .description(
      'show what apply would do per service, against the current revision and the running containers; changes nothing',
    )
    .argument('<file>', 'deployment record (YAML)')
    .addOption(jsonOption())
    .action(async (file: string, opts: { json?: boolean }) => {
      const record = loadRecordFile(file);
      await withClient(async (client) => {
        const currentRevision = await client.currentRevision(record.metadata.name);
        const current = currentRevision?.record ?? null;
        const plan = await runtimeView(record, (input) => client.observeAgentHosts(input)).plan(
          record,
          current,
        );
        io.out(
          opts.json
            ? json({
                cloud: record.metadata.name,
                currentRevision: currentRevision?.number ?? null,
                services: plan,
              })
            : renderPlan(record.metadata.name, currentRevision?.number ?? null, plan),
        );
      });
    });

  program
    .command('apply')
    .description(
      'apply a record as the next revision: deploys new services, patches changed ones one batch at a time, repairs drift; ' +
        'a second apply or rollback while a change runs on the same cloud is refused (exit 2), not queued',
    )
    .argument('<file>', 'deployment record (YAML)')
    .option('-m, --message <text>', 'why: recorded with the revision', '')
    .option('--author <name>', 'who: recorded with the revision (default $PATCHBAY_AUTHOR or user@host)')
    .option('--no-wait', 'return once the revision is accepted')
    .addOption(jsonOption())
    .action(
      async (file: string, opts: { message: string; author?: string; wait: boolean; json?: boolean }) => {
        const record = loadRecordFile(file);
        await withClient(async (client) => {
          const accepted = await client.apply(record, {
            message: opts.message,
            author: opts.author ?? defaultAuthor(),
          });
          if (!opts.wait)
            return io.out(
              opts.json ? json(accepted) : `revision ${accepted.revision} accepted (${accepted.workflowId})`,
            );
          setExit(await followChange(client, record.metadata.name, accepted, !!opts.json, io));
        });
      },
    );

  program
    .command('rollback')
    .description(
      "make a new revision with one service's spec from an earlier revision, applied by the same rolling machinery",
    )
    .argument('<cloud>')
    .argument('<service>')
    .option(
      '--to-revision <n>',
      'the revision to take the spec from (default: the last applied one where it differs)',
      (v) => {
        if (!/^\d+$/.test(v))
          throw new PatchbayError('INVALID_INPUT', `--to-revision must be a revision number (got "${v}")`);
        return Number(v);
      },
    )
    .option(
      '--restore-database',
      "across a revision that contracted the service's database schema: stop the service, restore the snapshot taken before that revision's expand (writes since are lost: the result states the window), start the older code",
    )
    .option('-m, --message <text>', 'why', '')
    .option('--author <name>', 'who')
    .option('--no-wait', 'return once the revision is accepted')
    .addOption(jsonOption())
    .action(
      async (
        cloud: string,
        service: string,
        opts: {
          toRevision?: number;
          restoreDatabase?: boolean;
          message: string;
          author?: string;
          wait: boolean;
          json?: boolean;
        },
      ) => {
        await withClient(async (client) => {
          const accepted = await client.rollback(cloud, {
            service,
            toRevision: opts.toRevision,
            ...(opts.restoreDatabase && { restoreDatabase: true }),
            message: opts.message,
            author: opts.author ?? defaultAuthor(),
          });
          if (!opts.wait)
            return io.out(
              opts.json ? json(accepted) : `revision ${accepted.revision} accepted (${accepted.workflowId})`,
            );
          setExit(await followChange(client, cloud, accepted, !!opts.json, io));
        });
      },
    );

  program
    .command('status')
    .description(
      'per service: recorded version; per instance: running version, container, health, drift (Kubernetes: its Deployment and rollout)',
    )
    .argument('<cloud>')
    .addOption(jsonOption())
    .action(async (cloud: string, opts: { json?: boolean }) => {
      await withClient(async (client) => {
        const { current, summary } = await client.statusInput(cloud);
        const active = summary?.active ?? null;
        const view = current ? runtimeView(current.record, (input) => client.observeAgentHosts(input)) : null;
        const watch = active ? await client.watchChange(active.workflowId) : null;
        const blocked = watch?.services.find((s) => s.blocked);
        const status = await cloudStatus(
          { cloud, current, active },
          view,
          blocked?.blocked ? { service: blocked.service, ...blocked.blocked } : null,
        );
        io.out(opts.json ? json(status) : renderStatus(status));
      });
    });

  program
    .command('history')
    .description(
      'list the revisions of a cloud, newest first, with who, when, why and their outcome (from the record store)',
    )
    .argument('<cloud>')
    .option('--limit <n>', 'how many revisions', positiveInt('--limit', 10_000), 50)
    .option('--before <n>', 'only revisions older than this number (the next page)', positiveInt('--before'))
    .addOption(jsonOption())
    .action(async (cloud: string, opts: { limit: number; before?: number; json?: boolean }) => {
      await withClient(async (client) => {
        const page = await client.history(cloud, { limit: opts.limit, before: opts.before });
        io.out(
          opts.json
            ? json(page)
            : renderHistory(page.revisions, page.current, {
                ...page,
                limit: opts.limit === 50 ? undefined : opts.limit,
              }),
        );
      });
    });

  program
    .command('show')
    .description(
      'print one revision: its outcome, per-service and per-instance results, and its record (YAML)',
    )
    .argument('<cloud>')
    .argument('<revision>')
    .addOption(jsonOption())
    .action(async (cloud: string, rev: string, opts: { json?: boolean }) => {
      if (!/^\d+$/.test(rev))
        throw new PatchbayError('INVALID_INPUT', `revision must be a number (got "${rev}")`);
      await withClient(async (client) => {
        const revision = await client.revision(cloud, Number(rev));
        if (opts.json) return io.out(json(revision));
        io.out(renderRevisionHeader(revision));
        io.out(toYaml(revision.record));
      });
    });

  program
    .command('clouds')
    .description(
      'the fleet inventory: every managed cloud with its labels, current revision, per-service version, last outcome ' +
        'and whether a change runs; --service NAME groups the clouds by the image of that service they run',
    )
    .option(
      '--service <name>',
      'group clouds by the image of this service (e.g. which still run a vulnerable build)',
    )
    .option('--label <key=value>', 'only clouds with this label (repeatable)', labelOption)
    .addOption(jsonOption())
    .action(async (opts: { service?: string; label?: Record<string, string>; json?: boolean }) => {
      await withStore(async (db) => {
        const inventory = new InventoryStore(db);
        const filter = { labels: opts.label };
        if (opts.service) {
          const inv = await inventory.byService(opts.service, filter);
          return io.out(opts.json ? json(inv) : renderServiceInventory(inv));
        }
        const clouds = await inventory.clouds(filter);
        io.out(opts.json ? json({ total: clouds.length, clouds }) : renderInventory(clouds));
      });
    });

  program
    .command('audit')
    .description('operator decisions (resolve) recorded for a cloud: who, when, what, why; oldest first')
    .argument('<cloud>')
    .option('--limit <n>', 'at most this many entries', positiveInt('--limit', 10_000), 200)
    .addOption(jsonOption())
    .action(async (cloud: string, opts: { limit: number; json?: boolean }) => {
      await withStore(async (db) => {
        const entries = await new AuditStore(db).list('cloud', cloud, opts.limit);
        io.out(opts.json ? json({ cloud, entries }) : renderAudit(cloud, entries));
      });
    });

  program
    .command('resolve')
    .description(
      'decide for a change that waits for an operator: rollback (after a failed rollout with onFailure: pause), retry (a failed compensation or contract, after fixing its cause), approve (a contract held for approval) or abandon',
    )
    .argument('<cloud>')
    .addArgument(
      new Argument('<action>', 'rollback | retry | approve | abandon').choices([
        'rollback',
        'retry',
        'approve',
        'abandon',
      ]),
    )
    .option('-m, --message <text>', 'a note recorded with the decision', '')
    .option('--author <name>', 'who')
    .addOption(jsonOption())
    .action(
      async (
        cloud: string,
        action: OperatorAction,
        opts: { message: string; author?: string; json?: boolean },
      ) => {
        await withClient(async (client) => {
          const out = await client.resolve(cloud, {
            action,
            author: opts.author ?? defaultAuthor(),
            note: opts.message,
          });
          io.out(opts.json ? json(out) : `decision "${out.accepted}" sent to ${out.workflowId}`);
        });
      },
    );

  program
    .command('worker')
    .description('run a Patchbay worker (all workflows and activities) until SIGINT/SIGTERM')
    .option(
      '--metrics-address <host:port>',
      'serve Prometheus metrics at /metrics (default: PATCHBAY_METRICS_ADDRESS; unset: off)',
    )
    .action(async (opts: { metricsAddress?: string }) => {
      const { runWorkerProcess } = lazy<typeof WorkerMain>('../worker/main');
      await runWorkerProcess({ metricsAddress: opts.metricsAddress });
    });

  program
    .command('agent')
    .description(
      "run this host's agent until SIGINT/SIGTERM: it polls the host's own task queue (outbound, to Temporal) " +
        "and runs the host's steps on its local engine; secrets resolve here and never leave the host",
    )
    .requiredOption('--cloud <name>', 'the cloud this host belongs to')
    .requiredOption('--host <name>', "the host's name in the record (spec.runtime.docker.hosts[].name)")
    .option(
      '--metrics-address <host:port>',
      'serve Prometheus metrics at /metrics (default: PATCHBAY_METRICS_ADDRESS; unset: off)',
    )
    .action(async (opts: { cloud: string; host: string; metricsAddress?: string }) => {
      const { runAgentProcess } = lazy<typeof AgentMain>('../agent/main');
      await runAgentProcess({
        cloud: opts.cloud,
        host: opts.host,
        metricsAddress: opts.metricsAddress,
        onReady: (line) => io.err(line),
      });
    });

  program
    .command('hosts')
    .description(
      'every host of the current records (or of one cloud): how it is reached and, for an agent, its version and when Temporal last saw it poll',
    )
    .argument('[cloud]')
    .addOption(jsonOption())
    .action(async (cloud: string | undefined, opts: { json?: boolean }) => {
      await withClient(async (client) => {
        const hosts = await client.inventory.hosts(cloud);
        const rows = await describeHosts(client.client, client.client.options.namespace, hosts);
        io.out(opts.json ? json({ hosts: rows }) : renderHosts(rows));
      });
    });

  program
    .command('doctor')
    .description(
      'what the TEMPORAL_* and PATCHBAY_DATABASE_URL settings reach: Temporal (TLS), namespace, search attributes, dynamic config, workers, record store; exit 1 if Patchbay cannot run there',
    )
    .option('--fix', "register Patchbay's missing search attributes (nothing else is changed)")
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean; fix?: boolean }) => {
      const { runDoctor, renderDoctor } = lazy<typeof Doctor>('./doctor');
      const report = await runDoctor(temporalConfig(), { fix: !!opts.fix, storeUrl: storeUrl().url });
      io.out(opts.json ? json(report) : renderDoctor(report));
      if (!report.ok) setExit(exitCodeOf('ENVIRONMENT'));
    });

  program
    .command('dev')
    .description(
      'start the embedded stack: Temporal dev server (SQLite under .state, Web UI on) plus a worker, until Ctrl-C',
    )
    .action(async () => {
      const { runDev } = lazy<typeof Dev>('./dev');
      await runDev(io);
    });

  addCampaignCommands(program, io, setExit, jsonOption);

  program
    .command('demo')
    .description(
      'end to end on the embedded stack: deploy the sample OpenStack cloud, patch Keystone under load, revert it, try a broken build, print what happened',
    )
    .option(
      '--fixtures',
      'the same scenarios on tiny fixture images (examples/lab.yaml): seconds, not minutes',
    )
    .option(
      '--fleet [n]',
      'a Keystone CVE across a fleet of N real clouds (default 3): inventory, a campaign approved through the temporal CLI, a broken build halted at its canary',
    )
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean; fixtures?: boolean; fleet?: boolean | string }) => {
      if (opts.fleet !== undefined) {
        const n = opts.fleet === true ? 3 : positiveInt('--fleet', 20)(opts.fleet as string);
        const { runFleetDemo } = lazy<typeof FleetDemo>('./fleetDemo');
        setExit(await runFleetDemo(io, n, !!opts.json));
      } else if (opts.fixtures) {
        const { runFixtureDemo } = lazy<typeof FixtureDemo>('./fixtureDemo');
        setExit(await runFixtureDemo(io, !!opts.json));
      } else {
        const { runDemo } = lazy<typeof Demo>('./demo');
        setExit(await runDemo(io, !!opts.json));
      }
    });

  return program;
}

export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync(argv);
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ||
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version'
        ? 0
        : exitCodeOf('INVALID_INPUT');
    }
    if (error instanceof PatchbayError) {
      io.err(renderError(error));
      const wantsJson = argv.includes('--json');
      if (wantsJson) io.out(json({ error: { code: error.code, message: error.message, ...error.details } }));
      return error.exitCode;
    }
    io.err(`error: ${error instanceof Error ? error.message : String(error)}`);
    return exitCodeOf('INTERNAL');
  }
}
