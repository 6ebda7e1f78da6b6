// Config files of a service: INI overrides merged into a base file (as Kolla-Ansible's merge_configs
// does), and the per-instance rendering every runtime uses. Pure (no Node builtins): record
// validation runs in workflows, and the merge is part of validation.
import { parse as parseIni } from 'ini';
import type { ConfigFileSpec, ServiceSpec } from './schema';
import { renderTemplate, type TemplateValues } from './template';

type IniValue = string | boolean | null | IniValue[] | { [key: string]: IniValue };
type IniSection = { [key: string]: IniValue };

/**
 * `base` with each override merged in, in order: a key set in an override replaces the base's, new
 * keys and sections are added. Parsed with the `ini` library (npm's own), written back in the plain
 * `key = value` form oslo.config reads. The merged text loses the base's comments; a value holding
 * ";" or "#" must be quoted in the source ("a;b"), or the INI parser takes the rest as a comment.
 * Without overrides the base text is kept exactly as written.
 */
export function mergeIniOverrides(base: string, overrides: string[]): string {
  if (overrides.length === 0) return base;
  const merged = parseIni(base) as IniSection;
  for (const text of overrides) mergeInto(merged, parseIni(text) as IniSection);
  return writeIni(merged);
}

function isSection(value: IniValue | undefined): value is IniSection {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mergeInto(target: IniSection, source: IniSection): void {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key];
    if (isSection(value) && isSection(existing)) mergeInto(existing, value);
    else target[key] = value;
  }
}

function valueLines(key: string, value: IniValue): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => valueLines(key, v)); // oslo multi-valued option
  return [`${key} = ${value === null ? '' : String(value)}`];
}

/** Keys before sections (INI has no other place for them); a section named "a.b" was parsed nested. */
function writeIni(root: IniSection): string {
  const out: string[] = [];
  const keys = (section: IniSection) => Object.entries(section).filter(([, v]) => !isSection(v));
  const sections = (section: IniSection) =>
    Object.entries(section).filter((entry): entry is [string, IniSection] => isSection(entry[1]));
  for (const [k, v] of keys(root)) out.push(...valueLines(k, v));
  const walk = (name: string, section: IniSection): void => {
    const own = keys(section);
    if (own.length > 0 || sections(section).length === 0) {
      if (out.length > 0) out.push('');
      out.push(`[${name}]`);
      for (const [k, v] of own) out.push(...valueLines(k, v));
    }
    for (const [sub, child] of sections(section)) walk(`${name}.${sub}`, child);
  };
  for (const [name, section] of sections(root)) walk(name, section);
  return `${out.join('\n')}\n`;
}

/** A service's config files; records stored before config existed have none. */
export function configFilesOf(service: Pick<ServiceSpec, 'config'>): Record<string, ConfigFileSpec> {
  return service.config ?? {};
}

/** The config files for the hash of what shapes a container: none counts as absent (old hashes hold). */
export function configForHash(
  service: Pick<ServiceSpec, 'config'>,
): Record<string, ConfigFileSpec> | undefined {
  const files = configFilesOf(service);
  if (Object.keys(files).length === 0) return undefined;
  // `from` says where the text came from; moving a file next to the record changes nothing.
  return Object.fromEntries(
    Object.entries(files).map(([path, f]) => [path, { content: f.content, mode: f.mode, owner: f.owner }]),
  );
}

/** One file as a container gets it: placeholders filled, secret references still unresolved. */
export interface RenderedConfigFile {
  path: string;
  content: string;
  mode: number;
  uid: number;
  gid: number;
}

/** A service's config files rendered for one instance (or job) with the runtime's template values. */
export function renderConfigFiles(
  service: Pick<ServiceSpec, 'config'>,
  values: Partial<TemplateValues>,
): RenderedConfigFile[] {
  return Object.entries(configFilesOf(service))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([path, file]) => {
      const [uid, gid] = (file.owner ?? '0:0').split(':').map(Number) as [number, number];
      return { path, content: renderTemplate(file.content, values), mode: parseInt(file.mode, 8), uid, gid };
    });
}
