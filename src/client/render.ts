// Human-readable output of the CLI. Programs use --json instead.
import { formatIssue, type PatchbayError } from '../lib/errors';
import type { ChangeResult, Revision } from '../workflows/types';
import type { PlannedService } from './plan';
import type { CloudStatus } from './status';
import type { ChangeWatch } from './patchbayClient';

const short = (id: string | null | undefined): string => (id ? id.slice(0, 12) : '-');

/** A long reason (a job's output) in a table: its first line and its last line. */
function brief(reason: string): string {
  const lines = reason.split('\n').filter((l) => l.trim());
  return lines.length <= 2
    ? lines.join(' ')
    : `${lines[0]} … ${lines[lines.length - 1]} (patchbay show for all)`;
}

export function renderError(error: PatchbayError): string {
  const lines = [`error [${error.code}]: ${error.message}`];
  for (const issue of error.details.issues ?? []) lines.push(`  ${formatIssue(issue)}`);
  return lines.join('\n');
}

export function renderPlan(cloud: string, currentRevision: number | null, plan: PlannedService[]): string {
  const lines = [
    `plan for cloud ${cloud} (against ${currentRevision ? `revision ${currentRevision}` : 'no revision yet'} and the running containers):`,
  ];
  for (const s of plan) {
    const versions =
      s.action === 'patch' ? `${s.fromVersion} -> ${s.toVersion}` : (s.toVersion ?? s.fromVersion ?? '');
    lines.push(`  ${s.action.padEnd(9)} ${s.service.padEnd(16)} ${versions}`);
    for (const i of s.instances) lines.push(`      ${i.change.padEnd(8)} ${i.instance.padEnd(20)} ${i.why}`);
    for (const d of s.drift) lines.push(`      drift    ${d}`);
  }
  const changes = plan.filter((s) => s.action !== 'unchanged').length;
  lines.push(
    changes === 0 ? 'nothing to do.' : `${changes} service(s) would change; the others are left alone.`,
  );
  return lines.join('\n');
}

export function renderChangeResult(cloud: string, result: ChangeResult): string {
  const head =
    result.outcome === 'applied'
      ? `revision ${result.revision} of cloud ${cloud} applied.`
      : `revision ${result.revision} of cloud ${cloud} ${result.outcome === 'rolled-back' ? 'was ROLLED BACK' : 'FAILED'}: ${result.reason ?? ''}`;
  const lines = [head];
  for (const s of result.services) {
    const versions =
      s.fromVersion && s.toVersion && s.fromVersion !== s.toVersion
        ? ` ${s.fromVersion} -> ${s.toVersion}`
        : '';
    lines.push(
      `  ${s.service.padEnd(16)} ${s.action.padEnd(9)} ${s.status}${versions}${s.reason ? ` (${s.reason})` : ''}`,
    );
  }
  if (result.outcome !== 'applied') lines.push(`the cloud stays on its previous revision.`);
  return lines.join('\n');
}

/** Live per-instance lines: prints only what changed since the last call. */
export function progressPrinter(write: (line: string) => void): (watch: ChangeWatch) => void {
  const seen = new Map<string, string>();
  return (watch) => {
    for (const s of watch.services) {
      for (const i of s.instances) {
        const key = `${s.service}/${i.instance}`;
        const text = `${i.phase}${i.detail ? ` (${i.detail})` : ''}`;
        if (seen.get(key) !== text) {
          seen.set(key, text);
          write(`  ${s.service.padEnd(16)} ${i.instance.padEnd(20)} ${text}`);
        }
      }
      if (s.blocked && seen.get(`${s.service}!`) !== s.blocked.reason) {
        seen.set(`${s.service}!`, s.blocked.reason);
        write(`  ${s.service}: WAITING FOR AN OPERATOR: ${s.blocked.reason}`);
        write(`    decide with: patchbay resolve <cloud> ${s.blocked.allowed.join('|')}`);
      }
    }
  };
}

export function renderHistory(revisions: Revision[], current: number | null): string {
  const lines = ['REV  OUTCOME      WHEN                      AUTHOR                MESSAGE'];
  for (const r of [...revisions].reverse()) {
    const mark = r.number === current ? '*' : ' ';
    lines.push(
      `${`${mark}${r.number}`.padEnd(5)}${r.outcome.padEnd(13)}${r.createdAt.padEnd(26)}${r.author.slice(0, 20).padEnd(22)}${r.message}`,
    );
    if (r.reason) lines.push(`     reason: ${brief(r.reason)}`);
  }
  lines.push('* = current revision');
  return lines.join('\n');
}

export function renderStatus(status: CloudStatus): string {
  const lines = [
    `cloud ${status.cloud}: revision ${status.currentRevision ?? '-'}${status.activeChange ? `, change running: revision ${status.activeChange.revision} (${status.activeChange.workflowId})` : ''}`,
  ];
  if (status.waitingForOperator) {
    const w = status.waitingForOperator;
    lines.push(`  WAITING FOR AN OPERATOR (${w.service}, since ${w.since}): ${w.reason}`);
    lines.push(`    decide with: patchbay resolve ${status.cloud} ${w.allowed.join('|')}`);
  }
  for (const s of status.services) {
    lines.push(`  ${s.service} (recorded ${s.recordedVersion ?? '-'})`);
    for (const i of s.instances) {
      lines.push(
        `    ${i.instance.padEnd(20)} ${(i.runningVersion ?? '-').padEnd(24)} ${short(i.containerId).padEnd(13)} ${(i.state ?? 'missing').padEnd(9)} ${i.health}`,
      );
    }
    const d = s.deployment;
    if (d)
      lines.push(
        `    deployment/${d.name} ${(d.runningVersion ?? '-').padEnd(24)} revision ${d.revision ?? '-'}  ${d.ready}/${d.replicas} ready, ${d.updated} updated, ${d.available} available  rollout ${d.rollout}`,
      );
    for (const d of s.drift) lines.push(`    drift: ${d}`);
  }
  return lines.join('\n');
}
