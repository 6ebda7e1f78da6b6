// Splitting a campaign's clouds into waves. Pure and deterministic: the workflow computes it once.
import type { CampaignSpec } from './spec';

export interface PlannedWave {
  index: number;
  name: string;
  /** Indexes into the campaign's cloud list: clouds [start, end). */
  start: number;
  end: number;
  approval: boolean;
}

/**
 * Sizes are taken in order: a count, a percentage of all clouds (rounded up, at least 1), or "rest".
 * Waves past the last cloud are dropped; clouds left after the last wave go into a final "rest" wave.
 */
export function planWaves(cloudCount: number, waves: CampaignSpec['spec']['waves']): PlannedWave[] {
  const out: PlannedWave[] = [];
  let next = 0;
  for (const [i, wave] of waves.entries()) {
    if (next >= cloudCount) break;
    const left = cloudCount - next;
    let size: number;
    if (wave.size === 'rest') size = left;
    else if (typeof wave.size === 'number') size = wave.size;
    else size = Math.max(1, Math.ceil((Number(wave.size.slice(0, -1)) / 100) * cloudCount));
    size = Math.min(size, left);
    out.push({
      index: out.length,
      name: wave.name ?? (i === 0 && waves.length > 1 ? 'canary' : `wave ${i + 1}`),
      start: next,
      end: next + size,
      approval: wave.approval,
    });
    next += size;
  }
  if (next < cloudCount)
    out.push({ index: out.length, name: 'rest', start: next, end: cloudCount, approval: false });
  return out;
}
