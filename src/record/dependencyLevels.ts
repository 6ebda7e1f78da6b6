// The order a change handles services in. Apart from validate.ts (zod) because workflows use it on
// every change and should not load zod for it.

/**
 * Services grouped so that each group depends only on earlier ones: level 0 has no dependencies.
 * Each level is sorted by name. Dependencies on services not in the list are ignored (they are
 * not part of this change). The input must be acyclic (validated records are).
 */
export function dependencyLevels(services: { name: string; dependsOn: string[] }[]): string[][] {
  const present = new Set(services.map((s) => s.name));
  const remaining = new Map(
    services.map((s) => [s.name, s.dependsOn.filter((d) => present.has(d) && d !== s.name)]),
  );
  const placed = new Set<string>();
  const levels: string[][] = [];
  while (remaining.size > 0) {
    const level = [...remaining]
      .filter(([, deps]) => deps.every((d) => placed.has(d)))
      .map(([name]) => name)
      .sort();
    if (level.length === 0) {
      throw new Error(`dependency cycle among services: ${[...remaining.keys()].sort().join(', ')}`);
    }
    for (const name of level) {
      remaining.delete(name);
      placed.add(name);
    }
    levels.push(level);
  }
  return levels;
}
