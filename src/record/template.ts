// The one template renderer: every runtime fills a service's env values and command with it (and,
// later, its config files). A runtime says what each placeholder stands for where it runs: Docker
// gives the literal values of an instance; Kubernetes, whose pods are named by the scheduler, gives
// references it expands itself. Validation rejects a placeholder no runtime can fill.
// Pure (no Node builtins): the workflows' record validation runs it.

/** What a service's env and command may contain, and what each stands for. */
export const PLACEHOLDERS = {
  port: 'the port the instance serves on',
  host: 'the host (Docker) or node (Kubernetes) the instance runs on',
  instance: 'the instance: "<host>-<port>" (Docker), the pod name (Kubernetes)',
  service: "the service's name",
} as const;

export type Placeholder = keyof typeof PLACEHOLDERS;
export type TemplateValues = Record<Placeholder, string>;

/** A one-off job is not an instance: only these can be filled in its env and command. */
export const JOB_PLACEHOLDERS: readonly Placeholder[] = ['service'];

const PATTERN = /\{\{\s*(\w+)\s*\}\}/g;

/** The placeholders a template uses, in order of appearance (unknown ones included). */
export function placeholdersIn(template: string): string[] {
  return [...template.matchAll(PATTERN)].map((m) => m[1] as string);
}

export function isPlaceholder(name: string): name is Placeholder {
  return Object.hasOwn(PLACEHOLDERS, name);
}

/** Fills every known placeholder; validation has refused unknown ones, which stay as written. */
export function renderTemplate(template: string, values: Partial<TemplateValues>): string {
  // hasOwn: "{{constructor}}" must stay as written, not become Object's constructor.
  return template.replace(PATTERN, (whole, key: string) =>
    isPlaceholder(key) && Object.hasOwn(values, key) ? (values[key] as string) : whole,
  );
}

/** Whether any of these templates uses one of the given placeholders. */
export function usesAny(templates: Iterable<string>, names: readonly Placeholder[]): boolean {
  for (const t of templates) if (placeholdersIn(t).some((p) => (names as string[]).includes(p))) return true;
  return false;
}
