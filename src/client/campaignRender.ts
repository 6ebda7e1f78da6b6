// How campaigns look to people: per-wave bars and per-cloud lines, in one snapshot or live.
import {
  QUIET_STATUSES,
  type CampaignProgress,
  type CloudOutcome,
  type CloudStatus,
  type WaveProgress,
} from '../workflows/campaignTypes';
import type { CampaignSummary } from './campaignClient';

const DONE: CloudStatus[] = ['patched', 'already-at-target', 'reverted'];
const BAD: CloudStatus[] = ['rolled-back', 'failed'];
/** Finished without a change, outside the failure budget. */
const SKIPPED: CloudStatus[] = ['skipped-busy', 'skipped-unreachable'];

/** `#` done, `x` failed, `-` skipped, `.` still to come. */
function bar(done: number, bad: number, skipped: number, total: number, width = 24): string {
  if (total === 0) return `[${' '.repeat(width)}]`;
  const good = Math.round((done / total) * width);
  const failed = Math.min(width - good, Math.round((bad / total) * width));
  const passed = Math.min(width - good - failed, Math.round((skipped / total) * width));
  return `[${'#'.repeat(good)}${'x'.repeat(failed)}${'-'.repeat(passed)}${'.'.repeat(width - good - failed - passed)}]`;
}

function counts(c: Partial<Record<CloudStatus, number>>): string {
  return Object.entries(c)
    .filter(([, n]) => n)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
}

export function renderWave(w: WaveProgress): string {
  const total = w.end - w.start;
  const done = DONE.reduce((n, s) => n + (w.counts[s] ?? 0), 0);
  const bad = BAD.reduce((n, s) => n + (w.counts[s] ?? 0), 0);
  const skipped = SKIPPED.reduce((n, s) => n + (w.counts[s] ?? 0), 0);
  const gate = w.approval ? (w.approved ? ' (approved)' : ' (needs approval)') : '';
  return `  wave ${w.index + 1} ${w.name.padEnd(8)} ${bar(done, bad, skipped, total)} ${String(done + bad + skipped).padStart(5)}/${total}${gate}  ${counts(w.counts)}`;
}

export function renderCloudLine(o: CloudOutcome): string {
  const rev =
    o.revision !== undefined
      ? ` revision ${o.fromRevision !== undefined ? `${o.fromRevision} -> ` : ''}${o.revision}`
      : '';
  const revert = o.revertRevision !== undefined ? `, rolled back by revision ${o.revertRevision}` : '';
  const why = o.reason ? `: ${o.reason.split('\n')[0]}` : '';
  const revertError = o.revertError ? ` (campaign rollback failed: ${o.revertError})` : '';
  return `  ${o.cloud.padEnd(24)} ${o.status.padEnd(19)}${rev}${revert}${why}${revertError}`;
}

export function renderCampaign(p: CampaignProgress, options: { allClouds?: boolean } = {}): string {
  const lines = [
    `campaign ${p.id}: ${p.service} -> ${p.image}   ${p.phase.toUpperCase()}${p.paused ? ` (PAUSED by ${p.paused.by}${p.paused.reason ? `: ${p.paused.reason}` : ''})` : ''}`,
    `  ${p.clouds} clouds; started ${p.startedAt}${p.finishedAt ? `, finished ${p.finishedAt}` : ''}${p.runs ? `; continued as new ${p.runs}x` : ''}`,
  ];
  if (p.haltReason) lines.push(`  HALTED: ${p.haltReason}`);
  if (p.abort)
    lines.push(
      `  ABORTED by ${p.abort.by}${p.abort.reason ? ` (${p.abort.reason})` : ''}; in flight: ${p.abort.inFlight}`,
    );
  for (const w of p.waves) lines.push(renderWave(w));
  lines.push(`  total: ${counts(p.totals) || 'nothing yet'}`);
  const shown = Object.values(p.outcomes).filter(
    (o) => options.allClouds || !QUIET_STATUSES.includes(o.status),
  );
  if (shown.length) {
    lines.push(options.allClouds ? '  clouds:' : '  clouds needing attention or in flight:');
    for (const o of shown) lines.push(renderCloudLine(o));
  }
  return lines.join('\n');
}

/** Live view for --watch: a line per cloud as its status changes, and a wave line as its counts change. */
export function campaignPrinter(write: (line: string) => void): (p: CampaignProgress) => void {
  const seen = new Map<string, string>();
  return (p) => {
    for (const o of Object.values(p.outcomes)) {
      const line = renderCloudLine(o);
      if (seen.get(o.cloud) !== line) {
        seen.set(o.cloud, line);
        write(line);
      }
    }
    for (const w of p.waves) {
      const line = renderWave(w);
      if (seen.get(`wave ${w.index}`) !== line) {
        seen.set(`wave ${w.index}`, line);
        write(line);
      }
    }
    const phase = `  campaign ${p.id}: ${p.phase}${p.paused ? ' (paused)' : ''}${p.haltReason ? ` — ${p.haltReason}` : ''}`;
    if (seen.get('phase') !== phase) {
      seen.set('phase', phase);
      write(phase);
    }
  };
}

export function renderCampaignList(list: CampaignSummary[]): string {
  if (!list.length) return 'no campaigns.';
  return [
    'CAMPAIGN                  STATUS       PHASE              STARTED                   CLOSED                    CLOUDS',
    ...list.map(
      (c) =>
        `${c.id.padEnd(25)} ${c.status.padEnd(12)} ${(c.phase ?? '-').padEnd(18)} ${c.startTime.padEnd(25)} ${(c.closeTime ?? '-').padEnd(25)} ${c.totals ? counts(c.totals) || '-' : '-'}`,
    ),
  ].join('\n');
}
