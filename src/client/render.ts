// Human-readable output of the CLI. Programs use --json instead.
import { formatIssue, type PatchbayError } from '../lib/errors';
import type { ChangeResult, MigrationReport, RestoreReport, SnapshotReport } from '../workflows/types';
import type { AuditEntry } from '../store/auditStore';
import type { InventoryCloud, ServiceInventory } from '../store/inventoryStore';
import type { RevisionSummary, StoredRevision } from '../store/revisionStore';
import type { PlannedService } from './plan';
import type { CloudStatus } from './status';
import type { ChangeWatch, HistoryPage } from './patchbayClient';

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
    if (s.migrations) {
      lines.push(`      migrate  ${s.migrations.database}: ${s.migrations.phases.join(' -> ')}`);
      lines.push(
        s.migrations.rollbackNeedsRestore
          ? `      rollback: the image alone until the contract runs; after it, refused unless --restore-database (${s.migrations.phases.some((p) => p.startsWith('snapshot')) ? 'the snapshot taken before expand comes back; writes since are lost' : 'no snapshot is taken: add migrations.snapshot'})`
          : `      rollback puts the image back alone (no contract: the old code runs on the expanded schema)`,
      );
    }
    for (const f of s.config ?? []) {
      lines.push(`      config   ${f.path} ${f.change}${f.notes.length ? ` (${f.notes.join(', ')})` : ''}`);
      for (const line of f.diff.split('\n').filter(Boolean)) lines.push(`        ${line}`);
    }
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
    if (s.migrations) lines.push(`    ${describeMigrations(s.migrations)}`);
    if (s.migrations?.snapshot) lines.push(`    ${describeSnapshot(s.migrations.snapshot)}`);
    if (s.restore) lines.push(...describeRestore(s.restore).map((l) => `    ${l}`));
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

/** Revisions newest first (as the store pages them), with a line on how to see older ones. */
export function renderHistory(
  revisions: Array<
    Pick<RevisionSummary, 'number' | 'outcome' | 'createdAt' | 'author' | 'message' | 'reason'>
  >,
  current: number | null,
  page?: Pick<HistoryPage, 'cloud' | 'total' | 'nextBefore'> & { limit?: number },
): string {
  const lines = ['REV  OUTCOME      WHEN                      AUTHOR                MESSAGE'];
  for (const r of revisions) {
    const mark = r.number === current ? '*' : ' ';
    lines.push(
      `${`${mark}${r.number}`.padEnd(5)}${r.outcome.padEnd(13)}${r.createdAt.padEnd(26)}${r.author.slice(0, 20).padEnd(22)}${r.message}`,
    );
    if (r.reason) lines.push(`     reason: ${brief(r.reason)}`);
  }
  lines.push('* = current revision');
  if (page) {
    const shown = revisions.length;
    const range = shown ? `${revisions.at(-1)!.number}..${revisions[0]!.number}` : 'none';
    lines.push(
      `${shown} of ${page.total} revision(s) shown (${range})${page.nextBefore !== null ? `; older: patchbay history ${page.cloud} --before ${page.nextBefore}${page.limit ? ` --limit ${page.limit}` : ''}` : ''}`,
    );
  }
  return lines.join('\n');
}

/** `show`: one revision's outcome and per-service results (the record follows as YAML). */
export function renderRevisionHeader(revision: StoredRevision): string {
  const r = revision;
  const lines = [
    `# revision ${r.number} of cloud ${r.cloud} (${r.kind}${r.rollbackOf ? ` of ${r.rollbackOf.service} to revision ${r.rollbackOf.toRevision}` : ''}): ${r.outcome}`,
    `# by ${r.author} at ${r.createdAt}${r.finishedAt ? `, finished ${r.finishedAt}` : ''}; workflow ${r.workflowId}`,
  ];
  if (r.message) lines.push(`# message: ${r.message}`);
  if (r.reason) lines.push(...r.reason.split('\n').map((l, i) => (i === 0 ? `# reason: ${l}` : `#   ${l}`)));
  for (const s of r.services ?? []) {
    const versions =
      s.fromVersion && s.toVersion && s.fromVersion !== s.toVersion
        ? ` ${s.fromVersion} -> ${s.toVersion}`
        : s.toVersion
          ? ` ${s.toVersion}`
          : '';
    lines.push(
      `# ${s.service.padEnd(16)} ${s.action.padEnd(9)} ${s.status}${versions}${s.reason ? ` (${brief(s.reason)})` : ''}`,
    );
    for (const i of s.instances)
      lines.push(`#     ${i.instance.padEnd(20)} ${i.phase}${i.detail ? ` (${i.detail})` : ''}`);
    for (const j of s.jobs ?? [])
      lines.push(`#     job ${j.phase}/${j.job}: exit ${j.exitCode} in ${j.durationMs} ms`);
    if (s.restore) for (const l of describeRestore(s.restore)) lines.push(`#     ${l}`);
    if (s.migrations) {
      lines.push(`#     ${describeMigrations(s.migrations)}`);
      if (s.migrations.snapshot) lines.push(`#     ${describeSnapshot(s.migrations.snapshot)}`);
      // The schema's state as check read it, and what each phase said last.
      for (const p of s.migrations.phases)
        for (const line of p.output.split('\n').filter(Boolean).slice(-5))
          lines.push(`#       ${p.stage}: ${line}`);
    }
  }
  return lines.join('\n');
}

const labelText = (labels: Record<string, string>): string =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',') || '-';

/** `clouds`: one line per cloud; its services' versions on the line below. */
export function renderInventory(clouds: InventoryCloud[]): string {
  if (clouds.length === 0) return 'no managed clouds in the record store.';
  const width = Math.max(5, ...clouds.map((c) => c.name.length)) + 2;
  const lines = [`${'CLOUD'.padEnd(width)}REV    LAST OUTCOME  CHANGE      LABELS`];
  for (const c of clouds) {
    lines.push(
      `${c.name.padEnd(width)}${String(c.currentRevision ?? '-').padEnd(7)}${(c.lastOutcome ?? '-').padEnd(14)}${(c.activeRevision !== null ? `running r${c.activeRevision}` : '-').padEnd(12)}${labelText(c.labels)}`,
    );
    if (c.services.length)
      lines.push(`${' '.repeat(width)}${c.services.map((s) => `${s.service} ${s.version}`).join(', ')}`);
  }
  const running = clouds.filter((c) => c.changeRunning).length;
  lines.push(`${clouds.length} cloud(s)${running ? `, ${running} with a change running` : ''}`);
  return lines.join('\n');
}

/** `clouds --service NAME`: one block per image, with the clouds that run it. */
export function renderServiceInventory(inv: ServiceInventory): string {
  const lines = [`${inv.service} across ${inv.clouds} managed cloud(s):`];
  const block = (title: string, clouds: string[]) => {
    lines.push(`  ${title}  (${clouds.length} cloud${clouds.length === 1 ? '' : 's'})`);
    for (let i = 0; i < clouds.length; i += 6) lines.push(`    ${clouds.slice(i, i + 6).join(', ')}`);
  };
  for (const image of inv.images) block(image.image, image.clouds);
  if (inv.without.count) block(`(no ${inv.service} in the current revision)`, inv.without.clouds);
  return lines.join('\n');
}

/** `audit`: operator decisions, oldest first. */
export function renderAudit(target: string, entries: AuditEntry[]): string {
  if (entries.length === 0) return `no operator decisions recorded for ${target}.`;
  const lines = ['WHEN                      ACTOR                 ACTION            REASON'];
  for (const e of entries) {
    const where = typeof e.detail?.workflowId === 'string' ? ` [${e.detail.workflowId}]` : '';
    lines.push(
      `${e.at.padEnd(26)}${e.actor.slice(0, 20).padEnd(22)}${e.action.padEnd(18)}${e.reason ?? ''}${where}`,
    );
  }
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

/** "snapshot 47,933 bytes in 0.1 s on db1: /var/lib/…/keystone-r4.sql sha256 3f2a…". */
export function describeSnapshot(s: SnapshotReport): string {
  const rows = s.rows
    ? `, ${Object.values(s.rows).reduce((a, b) => a + b, 0)} rows in ${Object.keys(s.rows).length} tables`
    : '';
  const pruned = s.pruned?.length
    ? `; retention deleted the snapshots of revisions ${s.pruned.join(', ')}`
    : '';
  return `snapshot ${s.bytes.toLocaleString('en-US')} bytes in ${(s.durationMs / 1000).toFixed(1)} s on ${s.host}: ${s.path} sha256 ${s.sha256.slice(0, 16)}…${rows}${pruned}`;
}

/** The restore and its loss window, one line each (rows per table where the record counts them). */
export function describeRestore(r: RestoreReport): string[] {
  const lines = [
    `database ${r.database.service}/${r.database.name} restored from the snapshot of revision ${r.snapshot.revision} (${r.snapshot.bytes.toLocaleString('en-US')} bytes, loaded in ${(r.durationMs / 1000).toFixed(1)} s)`,
    `loss window: writes from ${r.lossWindow.from} to ${r.lossWindow.to} are gone`,
  ];
  const empty = (r.rows ?? []).filter((row) => !row.atSnapshot && !row.beforeRestore);
  for (const row of (r.rows ?? []).filter((x) => !empty.includes(x))) {
    const lost =
      row.atSnapshot === null
        ? `table created since the snapshot (${row.beforeRestore ?? 0} rows) is gone`
        : row.beforeRestore === null
          ? `table dropped since the snapshot is back (${row.atSnapshot} rows)`
          : `${row.atSnapshot} rows at the snapshot, ${row.beforeRestore} before the restore (${row.beforeRestore - row.atSnapshot >= 0 ? '+' : ''}${row.beforeRestore - row.atSnapshot})`;
    lines.push(`  ${row.table}: ${lost}`);
  }
  if (empty.length > 0) lines.push(`  ${empty.length} more tables empty at both`);
  return lines;
}

/** "migrations db/keystone: check-before exit 0 (0.4 s), expand exit 0 (2.1 s), contract done at …". */
export function describeMigrations(m: MigrationReport): string {
  const phases = m.phases.map((p) => `${p.stage} exit ${p.exitCode} (${(p.durationMs / 1000).toFixed(1)} s)`);
  const contract =
    m.contract === 'done'
      ? `contract done${m.contractedAt ? ` at ${m.contractedAt}` : ''}`
      : `contract ${m.contract}`;
  return `migrations ${m.database.service}/${m.database.name}: ${[...phases, contract].join(', ')}`;
}
