// `patchbay campaign …`: start a fleet campaign from a spec file, watch it, steer it. Exit codes as
// everywhere: 0 success, 1 the campaign halted/was aborted (or the environment is missing), 2 refused.
import os from 'node:os';
import { Argument, type Command, type Option } from 'commander';
import { temporalConfig } from '../lib/config';
import { PatchbayError } from '../lib/errors';
import { exitCodeOf } from '../lib/failures';
import { storeUrl } from '../store/config';
import { openDb } from '../store/db';
import type { CampaignProgress } from '../workflows/campaignTypes';
import { CampaignClient, loadCampaignFile } from './campaignClient';
import { campaignPrinter, renderCampaign, renderCampaignList } from './campaignRender';
import { PatchbayClient } from './patchbayClient';

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const json = (value: unknown) => JSON.stringify(value, null, 2);
const author = () => process.env.PATCHBAY_AUTHOR || `${os.userInfo().username}@${os.hostname()}`;
const FINISHED = ['completed', 'halted', 'aborted'];

/** Temporal for progress and control, the record store for clouds and outcomes. */
async function withCampaigns<T>(fn: (c: CampaignClient) => Promise<T>): Promise<T> {
  const client = await PatchbayClient.connect(temporalConfig());
  const db = openDb(storeUrl().url, { max: 2 });
  try {
    const max = process.env.PATCHBAY_CAMPAIGN_MAX_HISTORY;
    return await fn(new CampaignClient(client, max ? Number(max) : undefined, db));
  } finally {
    await client.close();
    await db.close();
  }
}

/** Past this many clouds, --watch reads only the clouds needing attention (all of them weigh ~100 B each). */
const WATCH_EVERY_CLOUD_UP_TO = 1_000;

/** Polls progress until the campaign finishes, printing live lines; returns the last progress. */
async function watch(
  c: CampaignClient,
  id: string,
  io: Io,
  live: boolean,
  all = false,
): Promise<CampaignProgress> {
  const print = live ? campaignPrinter(io.err) : () => undefined;
  let outcomes: 'all' | 'attention' = 'all';
  for (;;) {
    const p = await c.progress(id, { outcomes });
    print(p);
    if (FINISHED.includes(p.phase)) return outcomes === 'all' || !all ? p : c.progress(id);
    if (p.clouds > WATCH_EVERY_CLOUD_UP_TO) outcomes = 'attention';
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

const exitFor = (p: CampaignProgress) =>
  p.phase === 'completed' ? 0 : FINISHED.includes(p.phase) ? exitCodeOf('CHANGE_FAILED') : 0;

export function addCampaignCommands(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
  jsonOption: () => Option,
): void {
  const campaign = program
    .command('campaign')
    .description(
      'patch one service across many clouds in waves: canary, bake, failure budget, approvals, abort',
    );

  campaign
    .command('start')
    .description(
      'start a campaign from a spec file (YAML); refused (exit 2) if it is invalid, names an unknown cloud or reuses a name',
    )
    .argument('<file>', 'campaign spec (YAML)')
    .option('--watch', 'follow it live until it finishes')
    .addOption(jsonOption())
    .action(async (file: string, opts: { watch?: boolean; json?: boolean }) => {
      const spec = loadCampaignFile(file);
      await withCampaigns(async (c) => {
        const started = await c.start(spec, author());
        if (!opts.watch) {
          io.out(
            opts.json ? json(started) : `campaign ${started.id} started (workflow ${started.workflowId})`,
          );
          return;
        }
        if (!opts.json) io.err(`campaign ${started.id} started (workflow ${started.workflowId})`);
        const last = await watch(c, started.id, io, !opts.json, opts.json);
        io.out(opts.json ? json(last) : renderCampaign(last));
        setExit(exitFor(last));
      });
    });

  campaign
    .command('status')
    .description('waves, totals and the clouds that need attention; --watch follows it live')
    .argument('<id>', 'campaign name')
    .option('--watch', 'follow it live until it finishes')
    .option('--all', 'list every cloud, not only those in flight or needing attention')
    .addOption(jsonOption())
    .action(async (id: string, opts: { watch?: boolean; all?: boolean; json?: boolean }) => {
      await withCampaigns(async (c) => {
        // People see the clouds needing attention unless they ask for --all; programs (--json) get all.
        const all = Boolean(opts.all || opts.json);
        const p = opts.watch
          ? await watch(c, id, io, !opts.json, all)
          : await c.progress(id, { outcomes: all ? 'all' : 'attention' });
        io.out(opts.json ? json(p) : renderCampaign(p, { allClouds: opts.all }));
        if (opts.watch) setExit(exitFor(p));
      });
    });

  const control = (
    name: 'pause' | 'resume' | 'abort' | 'approve',
    description: string,
    extra?: (cmd: Command) => Command,
  ) => {
    let cmd = campaign
      .command(name)
      .description(description)
      .argument('<id>', 'campaign name')
      .option('--reason <text>', 'why (recorded with the campaign)', '')
      .addOption(jsonOption());
    if (extra) cmd = extra(cmd);
    // Commander passes the arguments, then the options, then the command.
    cmd.action(async (...args: unknown[]) => {
      const id = args[0] as string;
      const wave = name === 'approve' ? (args[1] as string) : undefined;
      const opts = args[args.length - 2] as { reason: string; rollback?: boolean; json?: boolean };
      await withCampaigns(async (c) => {
        const base = { by: author(), reason: opts.reason };
        let ack;
        if (name === 'pause') ack = await c.pause(id, base);
        else if (name === 'resume') ack = await c.resume(id, base);
        else if (name === 'abort')
          ack = await c.abort(id, { ...base, inFlight: opts.rollback ? 'rollback' : 'finish' });
        else {
          if (!wave || !/^\d+$/.test(wave))
            throw new PatchbayError(
              'INVALID_INPUT',
              `wave must be a wave number as campaign status shows it (got "${wave}")`,
            );
          ack = await c.approve(id, { ...base, wave: Number(wave) });
        }
        io.out(opts.json ? json(ack) : `campaign ${id}: ${ack.message} (phase ${ack.phase})`);
      });
    });
  };
  control('pause', 'stop launching clouds (those in flight finish); resume continues');
  control('resume', 'continue a paused campaign');
  control(
    'abort',
    'stop the campaign: no new cloud starts; --rollback also rolls back every cloud it patched',
    (cmd) =>
      cmd.option('--rollback', 'roll back every cloud this campaign patched, once those in flight finish'),
  );
  control('approve', 'let a wave that waits for approval start', (cmd) =>
    cmd.addArgument(new Argument('<wave>', 'wave number, as campaign status shows it')),
  );

  campaign
    .command('list')
    .description(
      'campaigns in the record store (and on this Temporal namespace): phase and per-status counts',
    )
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean }) => {
      await withCampaigns(async (c) => {
        const list = await c.list();
        io.out(opts.json ? json(list) : renderCampaignList(list));
      });
    });
}
