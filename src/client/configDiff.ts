// What a change does to a service's config files, as `plan` shows it: a unified diff per file
// (jsdiff, the `diff` package). Files hold secret references, never values, so a diff shows
// `{{ secret "env:NAME" }}` where the value will go: nothing to mask, nothing leaks.
import { createTwoFilesPatch } from 'diff';
import { configFilesOf } from '../record/configFiles';
import type { ServiceSpec } from '../record/schema';

export interface ConfigFileChange {
  path: string;
  change: 'added' | 'removed' | 'changed';
  /** Unified diff of the text (empty when only mode or owner changed). */
  diff: string;
  /** Mode or owner changes, e.g. "mode 0644 -> 0640". */
  notes: string[];
}

export function configChanges(before: ServiceSpec | null, target: ServiceSpec | null): ConfigFileChange[] {
  const old = before ? configFilesOf(before) : {};
  const next = target ? configFilesOf(target) : {};
  const paths = [...new Set([...Object.keys(old), ...Object.keys(next)])].sort();
  const changes: ConfigFileChange[] = [];
  for (const path of paths) {
    const a = old[path];
    const b = next[path];
    const notes: string[] = [];
    if (a && b && a.mode !== b.mode) notes.push(`mode ${a.mode} -> ${b.mode}`);
    if (a && b && (a.owner ?? '0:0') !== (b.owner ?? '0:0'))
      notes.push(`owner ${a.owner ?? '0:0'} -> ${b.owner ?? '0:0'}`);
    if (a && b && a.content === b.content && notes.length === 0) continue;
    const diff =
      a?.content === b?.content
        ? ''
        : createTwoFilesPatch(
            a ? `a${path}` : '/dev/null',
            b ? `b${path}` : '/dev/null',
            a?.content ?? '',
            b?.content ?? '',
            undefined,
            undefined,
            { context: 3 },
          )
            // jsdiff starts with an "Index:"-less "===" header line; keep only ---/+++ and hunks.
            .replace(/^=+\n/m, '');
    changes.push({ path, change: !a ? 'added' : !b ? 'removed' : 'changed', diff, notes });
  }
  return changes;
}
