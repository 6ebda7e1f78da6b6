// What a service's migrations must satisfy beyond their shape: the database they change belongs to
// another service of the record that this one depends on (so it runs, and is changed, first), and
// there is something to migrate. Pure, like validate.ts, which calls it.
import { formatPath, type RecordIssue } from '../lib/errors';
import type { CloudRecord } from './schema';

export function migrationIssues(record: CloudRecord): RecordIssue[] {
  const issues: RecordIssue[] = [];
  const names = record.spec.services.map((s) => s.name);
  record.spec.services.forEach((service, s) => {
    const migrations = service.migrations;
    if (!migrations) return;
    const at = (...rest: Array<string | number>) =>
      formatPath(['spec', 'services', s, 'migrations', ...rest]);
    const db = migrations.database.service;
    if (db === service.name)
      issues.push({
        path: at('database', 'service'),
        value: db,
        message: `the database must be another service's (the one that hosts it), not "${db}" itself`,
      });
    else if (!names.includes(db))
      issues.push({
        path: at('database', 'service'),
        value: db,
        message: `unknown service "${db}"; known services: ${names.map((n) => `"${n}"`).join(', ')}`,
      });
    else if (!service.dependsOn.includes(db))
      issues.push({
        path: at('database', 'service'),
        value: db,
        message: `"${service.name}" migrates a database of "${db}" but does not depend on it; add "${db}" to spec.services[${s}].dependsOn so the database runs (and changes) first`,
      });
    if (!migrations.expand && !migrations.migrate && !migrations.contract)
      issues.push({
        path: at(),
        value: Object.keys(migrations),
        message: 'migrations name no phase to run: give at least one of expand, migrate and contract',
      });
  });
  return issues;
}
