// The deployment record: one cloud per YAML file. This zod schema is the single source of truth;
// the JSON Schema for editors is generated from it (see jsonSchema.ts). It is pure (no Node
// builtins) because workflow update validators use it too.
import { z } from 'zod';
import { parseDuration } from './duration';
import { mergeIniOverrides } from './configFiles';

export const API_VERSION = 'patchbay/v1';

export const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be lowercase letters, digits and "-" (a DNS label)');

/** "10s", "500ms", "2m", "1h" or a number of milliseconds; normalised to milliseconds. */
export const Duration = z
  .union([
    z.number().int().nonnegative(),
    z.string().regex(/^\d+(\.\d+)?(ms|s|m|h)$/, 'must be a duration such as "500ms", "10s", "2m" or "1h"'),
  ])
  .transform((value, ctx) => {
    const ms = parseDuration(value);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: 'must be a duration such as "500ms", "10s", "2m" or "1h"' });
      return z.NEVER;
    }
    return ms;
  });

/** A reference to a secret that activities resolve at the edge; the value never enters a workflow history. */
export const SecretRef = z
  .string()
  .regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:\/.+)$/, 'must be "env:NAME" or "file:/absolute/path"');

/** Whether an address is this machine's own (a host there is reached directly, not through an agent). */
export function isLoopback(address: string): boolean {
  return /^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(address);
}

/** A file on the machine that uses it (worker or agent), by absolute path. */
const AbsolutePath = z
  .string()
  .regex(/^\/./, 'must be an absolute path (a file on the machine that connects)');

/** Certificates for a tcp:// Docker endpoint with TLS (Docker's "Protect the Docker daemon socket"). */
export const DockerTls = z
  .object({
    /** The CA that signed the engine's certificate (the engine's own --tlscacert checks ours). */
    ca: AbsolutePath,
    /** This client's certificate, signed by a CA the engine trusts (its --tlscacert). */
    cert: AbsolutePath,
    /** This client's private key. */
    key: AbsolutePath,
  })
  .strict();

export const DockerHost = z
  .object({
    name: dnsLabel,
    /**
     * The host's Docker engine. Reached directly by the worker (reach: direct), or the engine the
     * host's agent uses locally (reach: agent). Default: unix:///var/run/docker.sock.
     */
    endpoint: z
      .string()
      .regex(
        /^(unix:\/\/\/.+|tcp:\/\/[^/]+:\d+|ssh:\/\/[^/@]+@[^/@]+)$/,
        'must be unix:///path/to/docker.sock, tcp://host:port or ssh://user@host[:port]',
      )
      .optional(),
    /**
     * tcp:// only: the client side of Docker's TLS (dockerd --tlsverify): files on the machine that
     * connects, read there when it connects; the record holds their paths, never their contents.
     */
    tls: DockerTls.optional(),
    /**
     * tcp:// only: `true` to use a plain tcp:// endpoint without TLS. Anyone who reaches such a port
     * is root on the host; validation refuses plain tcp:// unless this says it is meant.
     */
    insecure: z.boolean().optional(),
    /**
     * ssh:// only: the private key (a file on the machine that connects). Default: the keys of the
     * ssh-agent at $SSH_AUTH_SOCK. The remote user needs the docker CLI and access to its engine.
     */
    sshKey: AbsolutePath.optional(),
    /**
     * ssh:// only: the known_hosts file the host's key must be listed in (as `host` or `[host]:port`,
     * plain or hashed). Default: ~/.ssh/known_hosts of the user that connects.
     */
    sshKnownHosts: AbsolutePath.optional(),
    /** Where this host's instances are probed (host networking: they bind on the host). */
    address: z.string().min(1).default('127.0.0.1'),
    /**
     * How Patchbay reaches the host: `agent` (a `patchbay agent` on the host runs its activities,
     * polling a task queue of its own; no engine API is exposed) or `direct` (the worker calls the
     * endpoint). Default: direct for a loopback address or an explicit endpoint, agent otherwise.
     */
    reach: z.enum(['agent', 'direct']).optional(),
    /** How long a step may wait for the host's agent to take it before the host counts as unreachable. */
    pickupTimeout: Duration.optional(),
  })
  .strict()
  .transform((h) => ({
    ...h,
    endpoint: h.endpoint ?? 'unix:///var/run/docker.sock',
    reach: h.reach ?? (h.endpoint !== undefined || isLoopback(h.address) ? 'direct' : 'agent'),
  }));

/** A Kubernetes cluster and namespace: each service is a Deployment (plus a Service) there. */
export const KubernetesRuntime = z
  .object({
    /** Path of the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config), read by the worker. */
    kubeconfig: z.string().min(1).optional(),
    /** Context in the kubeconfig (default: its current-context). */
    context: z.string().min(1).optional(),
    namespace: dnsLabel,
  })
  .strict();

/**
 * Where the cloud runs: Docker hosts, or a Kubernetes namespace. Normalised so that `docker.hosts`
 * is always there (empty for Kubernetes): code that walks hosts needs no runtime check.
 */
export const Runtime = z
  .object({
    docker: z
      .object({ hosts: z.array(DockerHost) })
      .strict()
      .optional(),
    kubernetes: KubernetesRuntime.optional(),
  })
  .strict()
  .refine((r) => (r.kubernetes ? !r.docker?.hosts.length : (r.docker?.hosts.length ?? 0) > 0), {
    message: 'give either docker.hosts (at least one) or kubernetes, not both',
  })
  .transform((r) => ({ docker: { hosts: r.docker?.hosts ?? [] }, kubernetes: r.kubernetes }));

/** Which load-balancer server fronts an instance: drained before it stops, enabled once healthy. */
export const InstanceLb = z
  .object({
    balancer: dnsLabel,
    backend: z.string().min(1),
    server: z.string().min(1),
  })
  .strict();

export const Instance = z
  .object({
    host: dnsLabel,
    port: z.number().int().min(1).max(65535),
    lb: InstanceLb.optional(),
  })
  .strict();

/** An HAProxy whose Runtime API (a stats socket at level admin) Patchbay drives. */
export const LoadBalancer = z
  .object({
    name: dnsLabel,
    haproxy: z
      .object({
        /** unix:///path/to/admin.sock or tcp://127.0.0.1:9999 */
        runtimeApi: z
          .string()
          .regex(/^(unix:\/\/\/.+|tcp:\/\/[^/]+:\d+)$/, 'must be unix:///path or tcp://host:port'),
        /** How long a drained server may take to reach zero current sessions. */
        drainTimeout: Duration.default(30_000),
        /**
         * The host HAProxy runs on (a name in runtime.docker.hosts): its Runtime API is driven from
         * there (by the host's agent when it has one). Default: from the central worker.
         */
        host: dnsLabel.optional(),
      })
      .strict(),
  })
  .strict();

/**
 * A one-off job container run before the rolling replace (e.g. `keystone-manage db_sync`, as Kolla's
 * bootstrap containers do) or after it. A failed `before` job stops the change before any instance
 * is touched. Jobs are not compensated: schemas only move forward; the revision records which ran.
 */
export const Job = z
  .object({
    name: dnsLabel,
    /** Defaults to the service's (target) image. */
    image: z.string().min(1).optional(),
    command: z.array(z.string()).min(1),
    /** Defaults to the host of the service's first instance. */
    host: dnsLabel.optional(),
    env: z.record(z.string(), z.string()).default({}),
    secretEnv: z
      .record(
        z.string(),
        z
          .string()
          .regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:\/.+)$/, 'must be "env:NAME" or "file:/absolute/path"'),
      )
      .default({}),
    timeout: Duration.default(300_000),
    /** Which changes of the service run it: by default a new service, a new image or new settings. */
    on: z.array(z.enum(['create', 'patch', 'update'])).default(['create', 'patch', 'update']),
  })
  .strict();

/** One phase of a service's schema migration: a one-off job like `jobs` (the phase is its name). */
export const MigrationStep = Job.omit({ name: true, on: true });

/** The database a service's migrations change: the service that hosts it, and its name there. */
export const MigrationDatabase = z
  .object({
    service: dnsLabel,
    name: z
      .string()
      .regex(/^[A-Za-z0-9_]{1,64}$/, 'must be a database name: letters, digits and "_" (at most 64)'),
  })
  .strict();

/**
 * Schema migrations around a new image (expand / migrate / contract, as Keystone, Glance and
 * Neutron split them): expand and migrate run before the rolling replace, contract only once the
 * whole revision runs the new code and passed its gates and bakes. Any phase may be left out.
 */
export const Migrations = z
  .object({
    database: MigrationDatabase,
    /**
     * Reads the schema's state (e.g. `keystone-manage db_sync --check` and the alembic_version
     * table): run before expand and after contract, its exit code and output recorded, never a failure.
     */
    check: MigrationStep.optional(),
    /**
     * A dump of the database before expand, so a rollback past a contract can restore it. `command`
     * writes the dump to stdout; it runs, like `restore` and `rows`, in the database service's image on
     * its first instance's host unless `image`/`host` say otherwise.
     */
    snapshot: MigrationStep.extend({
      /** A directory on that host for the dump files (bind-mounted at the same path). */
      directory: z
        .string()
        .regex(/^\/[A-Za-z0-9._/-]*$/, 'must be an absolute path of letters, digits, ".", "_", "-" and "/"')
        .default('/var/lib/patchbay/snapshots'),
      /** Snapshots kept per service: a newer one deletes the oldest beyond this many. */
      keep: z.number().int().min(1).max(1000).default(3),
      /**
       * Loads a dump from stdin; the dump itself drops and recreates the database (e.g. `mariadb-dump
       * --add-drop-database --databases NAME`). Run only by `rollback --restore-database`.
       */
      restore: z.object({ command: z.array(z.string()).min(1) }).strict(),
      /**
       * Optional: prints one "<table> <rows>" line per table. Run after the snapshot and again before a
       * restore, so the restore can say how many rows the loss window holds.
       */
      rows: z
        .object({ command: z.array(z.string()).min(1) })
        .strict()
        .optional(),
    })
      .strict()
      .optional(),
    expand: MigrationStep.optional(),
    migrate: MigrationStep.optional(),
    contract: MigrationStep.extend({
      /** auto: contract as soon as it is safe; manual: hold it until an operator approves. */
      approval: z.enum(['auto', 'manual']).default('auto'),
    })
      .strict()
      .optional(),
  })
  .strict();

export const HealthCheck = z
  .object({
    http: z
      .object({
        path: z.string().startsWith('/').default('/'),
        expectStatus: z.number().int().min(100).max(599).default(200),
      })
      .strict(),
    timeout: Duration.default(60_000),
    interval: Duration.default(1_000),
    /**
     * How many consecutive 5xx answers fail the gate at once, before its timeout (cf. Argo Rollouts'
     * analysis failureLimit): a build that answers but is broken is rolled back within seconds,
     * while one still starting (connection refused, no answer yet) gets the whole timeout. 0: only
     * the timeout decides. Unset: 5 (the default lives in the gate, so stored records stay as they were).
     */
    failureThreshold: z.number().int().min(0).max(1000).optional(),
  })
  .strict();

/** Consecutive 5xx answers that fail a health gate when the record does not say. */
export const DEFAULT_FAILURE_THRESHOLD = 5;

export const UpgradePolicy = z
  .object({
    strategy: z.literal('rolling').default('rolling'),
    maxUnavailable: z.number().int().min(1).default(1),
    /** Kubernetes only: extra pods a rolling update may start above the replica count. */
    maxSurge: z.number().int().min(0).default(1),
    /** How long a replaced instance must stay healthy and running before the next batch. */
    bake: Duration.default(0),
    /** rollback: compensate automatically; pause: wait for an operator to choose. */
    onFailure: z.enum(['rollback', 'pause']).default('rollback'),
  })
  .strict();

export const Volume = z
  .object({
    source: z.string().min(1),
    target: z.string().startsWith('/'),
    readOnly: z.boolean().default(false),
  })
  .strict();

/** A config file's text: inline `content`, or `from` a file the CLI reads next to the record. */
export const ConfigText = z
  .object({
    content: z.string().optional(),
    /** A path relative to the record's file (or absolute), read when the record is loaded. */
    from: z.string().min(1).optional(),
  })
  .strict();

/**
 * One config file of a service's containers. Its text may use the placeholders ({{port}}, ...) and
 * secret references (`{{ secret "env:NAME" }}`, `{{ secret "file:/path" }}`), resolved where the
 * container is created. `overrides` are INI texts merged into it in order (section by section, key
 * by key), as Kolla-Ansible merges /etc/kolla/config/<service>/<file> into its own files.
 */
export const ConfigFile = ConfigText.extend({
  overrides: z.array(ConfigText).default([]),
  /** Octal file mode. */
  mode: z
    .string()
    .regex(/^0?[0-7]{3}$/, 'must be an octal mode such as "0644" or "0640"')
    .default('0644'),
  /** Numeric "uid:gid" of the file in the container (default 0:0). */
  owner: z
    .string()
    .regex(/^\d+:\d+$/, 'must be a numeric "uid:gid" such as "0:42"')
    .optional(),
})
  .strict()
  .superRefine((file, ctx) => {
    const unread = (what: string, path: Array<string | number>) =>
      ctx.addIssue({
        code: 'custom',
        path,
        message: `${what} has \`from\` but no content: \`from\` files are read by the CLI when it loads the record file; a record given as data must carry \`content\``,
      });
    if (file.content === undefined) {
      if (file.from !== undefined) unread('the file', ['from']);
      else
        ctx.addIssue({
          code: 'custom',
          path: [],
          message: "give the file's `content` or `from` (a file next to the record)",
        });
    }
    file.overrides.forEach((o, i) => {
      if (o.content !== undefined) return;
      if (o.from !== undefined) unread('this override', ['overrides', i, 'from']);
      else
        ctx.addIssue({
          code: 'custom',
          path: ['overrides', i],
          message: "give the override's `content` or `from`",
        });
    });
  })
  .transform((file) => {
    const content = mergeIniOverrides(
      file.content as string,
      file.overrides.map((o) => o.content as string),
    );
    // Stored normalised: the merged text; `from` kept to say where it came from.
    return {
      content,
      mode: file.mode,
      ...(file.owner ? { owner: file.owner } : {}),
      ...(file.from ? { from: file.from } : {}),
    };
  });

/** A file's path in the container: absolute, no "." or ".." segments, not a directory. */
export const ConfigPath = z
  .string()
  .regex(
    /^(\/(?!\.\.?(\/|$))[^/\0]+)+$/,
    'must be an absolute file path such as /etc/keystone/keystone.conf (no "..", no trailing "/")',
  );

export const Service = z
  .object({
    name: dnsLabel,
    image: z.string().min(1),
    dependsOn: z.array(dnsLabel).default([]),
    /** Docker: where each instance runs (host and port). Kubernetes: leave out, give replicas and port. */
    instances: z.array(Instance).default([]),
    /** Kubernetes: pods of the Deployment. */
    replicas: z.number().int().min(1).optional(),
    /** Kubernetes: the port the container serves (and its readiness probe asks) on. */
    port: z.number().int().min(1).max(65535).optional(),
    /** Plain settings; "{{port}}", "{{host}}", "{{instance}}" and "{{service}}" are filled in per instance. */
    env: z.record(z.string(), z.string()).default({}),
    /** Secrets by reference only: env:NAME or file:/path, resolved by the activity that starts the container. */
    secretEnv: z.record(z.string(), SecretRef).default({}),
    command: z.array(z.string()).optional(),
    volumes: z.array(Volume).default([]),
    /** Config files by their path in the container, versioned with the record (see ConfigFile). */
    config: z
      .record(ConfigPath, ConfigFile)
      .optional()
      // None is left out of the stored record: specs from before config existed compare equal.
      .transform((files) => (files && Object.keys(files).length > 0 ? files : undefined)),
    health: HealthCheck,
    upgrade: UpgradePolicy.default({
      strategy: 'rolling',
      maxUnavailable: 1,
      maxSurge: 1,
      bake: 0,
      onFailure: 'rollback',
    }),
    stopGracePeriod: Duration.default(10_000),
    jobs: z
      .object({ before: z.array(Job).default([]), after: z.array(Job).default([]) })
      .strict()
      .default({ before: [], after: [] }),
    /** Schema migrations run when the image changes (see Migrations); none: `jobs` only, as before. */
    migrations: Migrations.optional(),
  })
  .strict();

export const CloudRecordSchema = z
  .object({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal('Cloud'),
    metadata: z
      .object({
        name: dnsLabel,
        labels: z.record(z.string(), z.string()).default({}),
      })
      .strict(),
    spec: z
      .object({
        runtime: Runtime,
        loadBalancers: z.array(LoadBalancer).default([]),
        services: z.array(Service).min(1),
      })
      .strict(),
  })
  .strict();

/** What the operator writes (durations as strings, defaults omitted). */
export type CloudRecordInput = z.input<typeof CloudRecordSchema>;
/** The normalised record stored in revisions and passed to workflows (durations in ms, defaults filled). */
export type CloudRecord = z.output<typeof CloudRecordSchema>;
export type ServiceSpec = z.output<typeof Service>;
export type InstanceSpec = z.output<typeof Instance>;
export type DockerHostSpec = z.output<typeof DockerHost>;
export type DockerTlsSpec = z.output<typeof DockerTls>;
export type HealthCheckSpec = z.output<typeof HealthCheck>;
export type JobSpec = z.output<typeof Job>;
export type MigrationStepSpec = z.output<typeof MigrationStep>;
export type MigrationsSpec = z.output<typeof Migrations>;
export type SnapshotSpec = NonNullable<MigrationsSpec['snapshot']>;
export type LoadBalancerSpec = z.output<typeof LoadBalancer>;
export type InstanceLbSpec = z.output<typeof InstanceLb>;
export type ConfigFileSpec = z.output<typeof ConfigFile>;
export type KubernetesRuntimeSpec = z.output<typeof KubernetesRuntime>;
