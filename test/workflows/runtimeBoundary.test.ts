// The runtime boundary (issue 14): workflow code outside src/workflows/runtimes neither names a
// runtime (code or comments) nor calls a runtime's activities; ESLint enforces the code part too.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createActivities } from '../../src/activities';

const WORKFLOWS = path.join(__dirname, '../../src/workflows');
const RUNTIMES = path.join(WORKFLOWS, 'runtimes');

function workflowFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return full === RUNTIMES ? [] : workflowFiles(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

/** The activities that act on one runtime: they may only be called from a strategy implementation. */
const RUNTIME_ACTIVITIES = [
  'observeService',
  'preflightService',
  'retireInstance',
  'startInstance',
  'waitHealthy',
  'bakeInstance',
  'restoreInstance',
  'commitInstance',
  'runJob',
  'k8sObserve',
  'k8sPreflight',
  'k8sApply',
  'k8sWaitRollout',
  'k8sRestore',
  'k8sRemove',
  'k8sRunJob',
];

test('the runtime activities listed here exist (the list cannot go stale silently)', () => {
  const names = Object.keys(
    createActivities({ docker: () => null as never, temporal: null as never, db: null as never } as never),
  );
  expect(names).toEqual(expect.arrayContaining(RUNTIME_ACTIVITIES));
});

test('no workflow file outside runtimes/ names a runtime or calls its activities', () => {
  const files = workflowFiles(WORKFLOWS);
  expect(files.length).toBeGreaterThan(10);
  const offences = files.flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line, i) => {
        const where = `${path.relative(WORKFLOWS, file)}:${i + 1}`;
        const named = /\b(docker|kubernetes|k8s)/i.exec(line);
        // runtime.waitHealthy(…) is the strategy's step; quick.waitHealthy(…) would be the activity.
        const called = RUNTIME_ACTIVITIES.find((a) => new RegExp(`(?<!runtime)\\.${a}\\(`).test(line));
        return [
          ...(named ? [`${where} names ${named[1]}`] : []),
          ...(called ? [`${where} calls ${called}`] : []),
        ];
      }),
  );
  expect(offences).toEqual([]);
});

test('the CLI reads what runs only through the runtime views (src/client/views)', () => {
  const cli = readFileSync(path.join(__dirname, '../../src/client/cli.ts'), 'utf8');
  const imports = [...cli.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
  expect(imports).toContain('./views');
  expect(
    imports.filter((i) => /runtime\/|observeCloud|observeDeployments|dockerode|client-node/.test(i!)),
  ).toEqual([]);
});
