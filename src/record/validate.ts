// Everything a deployment record must satisfy beyond its shape: names that refer to each other,
// ports that do not collide, policies that make sense. Pure (no Node builtins): the cloud
// workflow's update validator runs it, so a bad record is refused before it enters any history.
import { formatPath, type RecordIssue } from '../lib/errors';
import { formatDuration } from './duration';
import { endpointProblems } from './endpoint';
import { imageHasTagOrDigest } from './identity';
import { CloudRecordSchema, type CloudRecord } from './schema';
import {
  JOB_PLACEHOLDERS,
  PLACEHOLDERS,
  placeholdersIn,
  templateProblems,
  type Placeholder,
} from './template';
import { migrationIssues } from './migrationRules';
import { oneOffJobs } from './oneOffJobs';
import { REDACTED, SECRET_NAME, zodIssues } from './zodIssues';

export { dependencyLevels } from './dependencyLevels';

export { REDACTED } from './zodIssues';

type PathSegment = string | number;

function issue(path: PathSegment[], value: unknown, message: string): RecordIssue {
  return { path: formatPath(path), value, message };
}

function quoteList(names: Iterable<string>): string {
  const list = [...names].map((n) => `"${n}"`).join(', ');
  return list || '(none)';
}

export function checkRecordSemantics(record: CloudRecord): RecordIssue[] {
  const issues: RecordIssue[] = [];
  const services = record.spec.services;
  const hosts = record.spec.runtime.docker.hosts;

  // Names: the first occurrence wins; later ones are the problem.
  const hostIndex = new Map<string, number>();
  hosts.forEach((host, i) => {
    const first = hostIndex.get(host.name);
    if (first === undefined) hostIndex.set(host.name, i);
    else
      issues.push(
        issue(
          ['spec', 'runtime', 'docker', 'hosts', i, 'name'],
          host.name,
          `duplicate host name "${host.name}" (already declared at spec.runtime.docker.hosts[${first}]); host names must be unique`,
        ),
      );
  });
  const serviceIndex = new Map<string, number>();
  services.forEach((service, i) => {
    const first = serviceIndex.get(service.name);
    if (first === undefined) serviceIndex.set(service.name, i);
    else
      issues.push(
        issue(
          ['spec', 'services', i, 'name'],
          service.name,
          `duplicate service name "${service.name}" (already used by spec.services[${first}]); service names must be unique`,
        ),
      );
  });

  const portOwner = new Map<string, string>();
  services.forEach((service, s) => {
    const at = (...rest: PathSegment[]): PathSegment[] => ['spec', 'services', s, ...rest];

    service.dependsOn.forEach((dep, d) => {
      if (dep === service.name) {
        issues.push(
          issue(at('dependsOn', d), dep, `service "${service.name}" depends on itself; remove this entry`),
        );
      } else if (!serviceIndex.has(dep)) {
        issues.push(
          issue(
            at('dependsOn', d),
            dep,
            `depends on unknown service "${dep}"; known services: ${quoteList(serviceIndex.keys())}`,
          ),
        );
      }
    });

    service.instances.forEach((instance, i) => {
      if (!hostIndex.has(instance.host)) {
        issues.push(
          issue(
            at('instances', i, 'host'),
            instance.host,
            `unknown host "${instance.host}"; declared hosts (spec.runtime.docker.hosts): ${quoteList(hostIndex.keys())}`,
          ),
        );
      }
      // Instances use host networking, so two of them on one host:port cannot both bind.
      const key = `${instance.host}:${instance.port}`;
      const here = formatPath(at('instances', i));
      const owner = portOwner.get(key);
      if (owner === undefined) portOwner.set(key, `${here} (service "${service.name}")`);
      else
        issues.push(
          issue(
            at('instances', i, 'port'),
            instance.port,
            `${key} is used twice: by ${owner} and by ${here} (service "${service.name}"); give each instance its own host:port`,
          ),
        );
    });

    if (!imageHasTagOrDigest(service.image)) {
      const repo = service.image.replace(/:$/, '');
      issues.push(
        issue(
          at('image'),
          service.image,
          `image must name a tag or a digest (e.g. "${repo}:1.2.3" or "${repo}@sha256:…") so every revision pins exactly what runs`,
        ),
      );
    }

    const { maxUnavailable } = service.upgrade;
    if (service.instances.length > 0 && maxUnavailable > service.instances.length) {
      issues.push(
        issue(
          at('upgrade', 'maxUnavailable'),
          maxUnavailable,
          `upgrade.maxUnavailable (${maxUnavailable}) is greater than the service's ${service.instances.length} instance(s); use at most ${service.instances.length}`,
        ),
      );
    }

    const { interval, timeout } = service.health;
    if (interval > timeout) {
      issues.push(
        issue(
          at('health', 'interval'),
          interval,
          `health.interval (${formatDuration(interval)}) is longer than health.timeout (${formatDuration(timeout)}), so the instance would be declared unhealthy before it is probed again; make the interval shorter or the timeout longer`,
        ),
      );
    }

    for (const [name, value] of Object.entries(service.env)) {
      if (SECRET_NAME.test(name) && value !== '') {
        issues.push(
          issue(
            at('env', name),
            REDACTED,
            `"${name}" looks like a secret but has a literal value in env; move it to secretEnv as "env:NAME" or "file:/path" so the value never enters a workflow history`,
          ),
        );
      }
      if (Object.hasOwn(service.secretEnv, name)) {
        issues.push(
          issue(
            at('env', name),
            SECRET_NAME.test(name) ? REDACTED : value,
            `"${name}" is set in both env and secretEnv; keep only one (secretEnv if it is a secret)`,
          ),
        );
      }
    }
  });

  issues.push(...dependencyCycles(services));
  issues.push(...loadBalancerAndJobIssues(record, hostIndex));
  issues.push(...runtimeIssues(record));
  issues.push(...endpointIssues(record));
  issues.push(...templateIssues(record));
  issues.push(...migrationIssues(record));
  return issues;
}

/** Placeholders no runtime can fill: a typo ({{hots}}) would otherwise reach the container as written. */
function templateIssues(record: CloudRecord): RecordIssue[] {
  const issues: RecordIssue[] = [];
  const check = (path: PathSegment[], value: string, allowed: readonly Placeholder[], what: string): void => {
    for (const name of placeholdersIn(value)) {
      if ((allowed as string[]).includes(name)) continue;
      issues.push(
        issue(
          path,
          value,
          `unknown placeholder {{${name}}}: ${what} can use ${allowed.map((p) => `{{${p}}}`).join(', ')}`,
        ),
      );
    }
  };
  const all = Object.keys(PLACEHOLDERS) as Placeholder[];
  record.spec.services.forEach((service, s) => {
    const at = (...rest: PathSegment[]): PathSegment[] => ['spec', 'services', s, ...rest];
    for (const [name, value] of Object.entries(service.env))
      check(at('env', name), value, all, "a service's env");
    service.command?.forEach((part, c) => check(at('command', c), part, all, "a service's command"));
    const hasJobs = service.jobs.before.length + service.jobs.after.length > 0;
    for (const [path, file] of Object.entries(service.config ?? {})) {
      // A ConfigMap is one per service: the pod name and node are not known when it is written.
      const allowed: readonly Placeholder[] = record.spec.runtime.kubernetes
        ? (['port', 'service'] as const)
        : hasJobs
          ? JOB_PLACEHOLDERS
          : all;
      const why = record.spec.runtime.kubernetes
        ? 'on Kubernetes one ConfigMap serves every pod, so config files'
        : hasJobs
          ? "this service's jobs get its config files too, so they"
          : 'config files';
      if (record.spec.runtime.kubernetes && file.owner !== undefined)
        issues.push(
          issue(
            at('config', path, 'owner'),
            file.owner,
            'Kubernetes mounts ConfigMap and Secret files as root (no per-file owner); leave owner out and set mode',
          ),
        );
      for (const problem of templateProblems(file.content, allowed)) {
        issues.push(
          issue(
            at('config', path, 'content'),
            problem,
            `unknown placeholder ${problem}: ${why} can use ${allowed.map((p) => `{{${p}}}`).join(', ')} and {{ secret "env:NAME" }} / {{ secret "file:/path" }}`,
          ),
        );
      }
    }
    for (const { path, job } of oneOffJobs(service)) {
      const what = 'a job (not an instance)';
      for (const [name, value] of Object.entries(job.env))
        check(at(...path, 'env', name), value, JOB_PLACEHOLDERS, what);
      job.command.forEach((part, c) => check(at(...path, 'command', c), part, JOB_PLACEHOLDERS, what));
    }
  });
  return issues;
}

/** How each host's engine is reached: the endpoint's exact form and the settings that go with its kind. */
function endpointIssues(record: CloudRecord): RecordIssue[] {
  return record.spec.runtime.docker.hosts.flatMap((host, h) =>
    endpointProblems(host).map((problem) =>
      issue(
        ['spec', 'runtime', 'docker', 'hosts', h, problem.field],
        problem.shown ?? host[problem.field],
        problem.message,
      ),
    ),
  );
}

/** What each runtime needs of a service: Docker places instances on hosts, Kubernetes places pods. */
function runtimeIssues(record: CloudRecord): RecordIssue[] {
  const issues: RecordIssue[] = [];
  const kubernetes = record.spec.runtime.kubernetes;
  record.spec.services.forEach((service, s) => {
    const at = (...rest: PathSegment[]): PathSegment[] => ['spec', 'services', s, ...rest];
    if (kubernetes) {
      if (service.instances.length > 0)
        issues.push(
          issue(
            at('instances'),
            service.instances,
            'a Kubernetes service lists no instances: give replicas and port (the Deployment places the pods)',
          ),
        );
      if (service.replicas === undefined)
        issues.push(
          issue(at('replicas'), undefined, 'missing required field "replicas" (a Kubernetes service)'),
        );
      if (service.port === undefined)
        issues.push(issue(at('port'), undefined, 'missing required field "port" (a Kubernetes service)'));
      if (service.replicas !== undefined && service.upgrade.maxUnavailable > service.replicas)
        issues.push(
          issue(
            at('upgrade', 'maxUnavailable'),
            service.upgrade.maxUnavailable,
            `maxUnavailable exceeds the service's ${service.replicas} replicas`,
          ),
        );
      if (service.volumes.length > 0)
        issues.push(
          issue(
            at('volumes'),
            service.volumes,
            'volumes are for Docker hosts; on Kubernetes mount a volume through the cluster (not supported by Patchbay yet)',
          ),
        );
      for (const { label, path, job } of oneOffJobs(service))
        if (job.host)
          issues.push(
            issue(
              at(...path, 'host'),
              job.host,
              `${label} names a host; on Kubernetes jobs run as Jobs: leave host out`,
            ),
          );
    } else {
      if (service.instances.length === 0)
        issues.push(
          issue(at('instances'), [], 'a Docker service needs at least one instance (host and port)'),
        );
      if (service.replicas !== undefined || service.port !== undefined)
        issues.push(
          issue(
            at(service.replicas !== undefined ? 'replicas' : 'port'),
            service.replicas ?? service.port,
            'replicas and port are for a Kubernetes runtime; a Docker service lists its instances (host and port)',
          ),
        );
    }
  });
  if (kubernetes && record.spec.loadBalancers.length > 0)
    issues.push(
      issue(
        ['spec', 'loadBalancers'],
        record.spec.loadBalancers.map((lb) => lb.name),
        'HAProxy drain is for Docker hosts; on Kubernetes the Service and readiness take pods in and out of rotation',
      ),
    );
  return issues;
}

/** Instances name a declared load balancer, each backend/server once; jobs run on declared hosts. */
function loadBalancerAndJobIssues(record: CloudRecord, hostIndex: Map<string, number>): RecordIssue[] {
  const issues: RecordIssue[] = [];
  const balancers = new Map<string, number>();
  record.spec.loadBalancers.forEach((lb, i) => {
    if (lb.haproxy.host !== undefined && !hostIndex.has(lb.haproxy.host))
      issues.push(
        issue(
          ['spec', 'loadBalancers', i, 'haproxy', 'host'],
          lb.haproxy.host,
          `unknown host "${lb.haproxy.host}"; declared (spec.runtime.docker.hosts): ${quoteList(hostIndex.keys())}`,
        ),
      );
    const first = balancers.get(lb.name);
    if (first === undefined) balancers.set(lb.name, i);
    else {
      issues.push(
        issue(
          ['spec', 'loadBalancers', i, 'name'],
          lb.name,
          `duplicate load balancer "${lb.name}" (already spec.loadBalancers[${first}])`,
        ),
      );
    }
  });
  const fronted = new Map<string, string>();
  record.spec.services.forEach((service, s) => {
    service.instances.forEach((instance, i) => {
      if (!instance.lb) return;
      const path: PathSegment[] = ['spec', 'services', s, 'instances', i, 'lb'];
      if (!balancers.has(instance.lb.balancer)) {
        issues.push(
          issue(
            [...path, 'balancer'],
            instance.lb.balancer,
            `unknown load balancer "${instance.lb.balancer}"; declared (spec.loadBalancers): ${quoteList(balancers.keys())}`,
          ),
        );
      }
      const key = `${instance.lb.balancer}/${instance.lb.backend}/${instance.lb.server}`;
      const where = `spec.services[${s}].instances[${i}]`;
      const first = fronted.get(key);
      if (first) {
        issues.push(
          issue(
            [...path, 'server'],
            instance.lb.server,
            `server ${key} already fronts ${first}; each instance needs its own server`,
          ),
        );
      } else fronted.set(key, where);
    });
    for (const { path, job } of oneOffJobs(service)) {
      if (job.host !== undefined && !hostIndex.has(job.host)) {
        issues.push(
          issue(
            ['spec', 'services', s, ...path, 'host'],
            job.host,
            `unknown host "${job.host}"; declared hosts (spec.runtime.docker.hosts): ${quoteList(hostIndex.keys())}`,
          ),
        );
      }
      for (const name of Object.keys(job.env)) {
        if (SECRET_NAME.test(name)) {
          issues.push(
            issue(
              ['spec', 'services', s, ...path, 'env', name],
              REDACTED,
              `"${name}" looks like a secret; move it to secretEnv as env:NAME or file:/path so it never enters a workflow history`,
            ),
          );
        }
      }
    }
  });
  return issues;
}

/**
 * One issue per group of services that depend on each other in a circle (a strongly connected
 * component), showing one concrete cycle. Unknown services and self-dependencies are reported
 * elsewhere, so they are left out here.
 */
function dependencyCycles(services: CloudRecord['spec']['services']): RecordIssue[] {
  const index = new Map<string, number>();
  services.forEach((s, i) => {
    if (!index.has(s.name)) index.set(s.name, i);
  });
  const edges = (name: string): string[] => {
    const service = services[index.get(name) as number];
    return (service?.dependsOn ?? []).filter((d) => d !== name && index.has(d));
  };

  // Tarjan's algorithm; the recursion depth is bounded by the number of services.
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let counter = 0;
  const visit = (v: string): void => {
    order.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges(v)) {
      if (!order.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, order.get(w) as number));
      }
    }
    if (low.get(v) === order.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) components.push(component);
    }
  };
  for (const name of index.keys()) if (!order.has(name)) visit(name);

  return components
    .map((component) => {
      // Start from the member written first in the record, so the message is stable.
      const members = new Set(component);
      const start = component.reduce((a, b) =>
        (index.get(a) as number) <= (index.get(b) as number) ? a : b,
      );
      const cycle = shortestCycle(start, (n) => edges(n).filter((d) => members.has(d)));
      const s = index.get(start) as number;
      const next = cycle[1] as string;
      const d = (services[s]?.dependsOn ?? []).indexOf(next);
      return {
        at: s,
        issue: issue(
          ['spec', 'services', s, 'dependsOn', d],
          next,
          `dependency cycle: ${cycle.join(' -> ')}; remove one of these dependsOn entries`,
        ),
      };
    })
    .sort((a, b) => a.at - b.at)
    .map((c) => c.issue);
}

/** Breadth-first search from start back to start; start is known to lie on a cycle. */
function shortestCycle(start: string, next: (name: string) => string[]): string[] {
  const parent = new Map<string, string>();
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const v = queue[head] as string;
    for (const w of next(v)) {
      if (w === start) {
        const path = [start];
        for (let u: string | undefined = v; u !== undefined && u !== start; u = parent.get(u))
          path.splice(1, 0, u);
        return [...path, start];
      }
      if (!parent.has(w)) {
        parent.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

export type ValidationResult = { ok: true; record: CloudRecord } | { ok: false; issues: RecordIssue[] };

/** Shape (zod) first; only a well-formed record is checked for meaning. */
export function validateRecord(input: unknown): ValidationResult {
  const parsed = CloudRecordSchema.safeParse(input);
  if (!parsed.success) return { ok: false, issues: zodIssues(parsed.error, input, CloudRecordSchema) };
  const issues = checkRecordSemantics(parsed.data);
  return issues.length ? { ok: false, issues } : { ok: true, record: parsed.data };
}
