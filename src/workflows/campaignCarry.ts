// What a campaign carries across continue-as-new, kept small: the next run's input is one payload,
// and Temporal refuses payloads over 2 MB (warns past 512 KB). At 10,000 clouds the plain state was
// ~1.7 MB, most of it repetition: the cloud list twice more inside the spec, and each cloud's name
// again inside its own outcome. Carried, the list lives once (state.clouds) and outcomes drop the name.
import type { CampaignState, CloudOutcome } from './campaignTypes';

/** A reason is kept to its first 500 characters here; the cloud's own revision has all of it. */
const MAX_REASON = 500;

export type CarriedOutcome = Omit<CloudOutcome, 'cloud'> & { cloud?: string };

export interface CarriedCampaignState extends Omit<CampaignState, 'outcomes'> {
  outcomes: Record<string, CarriedOutcome>;
}

const clip = (s: string | undefined) => (s && s.length > MAX_REASON ? `${s.slice(0, MAX_REASON)}…` : s);

export function carryState(state: CampaignState): CarriedCampaignState {
  const outcomes: Record<string, CarriedOutcome> = {};
  for (const [cloud, { cloud: _, reason, revertError, ...rest }] of Object.entries(state.outcomes)) {
    outcomes[cloud] = { ...rest };
    if (reason !== undefined) outcomes[cloud]!.reason = clip(reason);
    if (revertError !== undefined) outcomes[cloud]!.revertError = clip(revertError);
  }
  // Once resolved, the named clouds are state.clouds (plus unknown names, which have an outcome):
  // the spec's own list is never read again.
  const spec =
    state.phase === 'resolving'
      ? state.spec
      : { ...state.spec, spec: { ...state.spec.spec, clouds: { ...state.spec.spec.clouds, names: [] } } };
  return { ...state, spec, outcomes };
}

/** The state a run works with; also accepts state carried before outcomes dropped their name. */
export function restoreState(carried: CarriedCampaignState): CampaignState {
  const outcomes: Record<string, CloudOutcome> = {};
  for (const [cloud, o] of Object.entries(carried.outcomes)) outcomes[cloud] = { ...o, cloud };
  return { ...carried, outcomes };
}
