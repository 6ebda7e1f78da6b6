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

/**
 * A secret reference in a config file: `{{ secret "env:NAME" }}` or `{{ secret "file:/path" }}`. The
 * record, the revisions and every history hold the reference; the value is put in where the
 * container is created (the worker or the host's agent), as with secretEnv.
 */
const SECRET_PATTERN = /\{\{\s*secret\s+"(env:[A-Za-z_][A-Za-z0-9_]*|file:\/[^"]+)"\s*\}\}/g;
const ANY_BRACES = /\{\{[^{}]*\}\}/g;

/** The secret references (env:NAME, file:/path) a text uses, in order. */
export function secretRefsIn(text: string): string[] {
  return [...text.matchAll(SECRET_PATTERN)].map((m) => m[1] as string);
}

/** Every `{{ ... }}` that is neither a placeholder in `allowed` nor a well-formed secret reference. */
export function templateProblems(text: string, allowed: readonly Placeholder[]): string[] {
  const problems: string[] = [];
  for (const [whole] of text.matchAll(ANY_BRACES)) {
    if (new RegExp(`^${SECRET_PATTERN.source}$`).test(whole)) continue;
    const name = /^\{\{\s*(\w+)\s*\}\}$/.exec(whole)?.[1];
    if (name !== undefined && (allowed as string[]).includes(name)) continue;
    problems.push(whole);
  }
  return problems;
}

/** The text with each secret reference replaced by what `resolve` gives for it. */
export function resolveSecretRefs(text: string, resolve: (ref: string) => string): string {
  return text.replace(SECRET_PATTERN, (_whole, ref: string) => resolve(ref));
}
