// What a campaign carries across continue-as-new. Since the record store, that is counters and flags
// only (CampaignState): the cloud list and every outcome are rows in campaign_clouds, so the next
// run's input is the same size at 100 clouds and at 100,000. The legacy functions below are what
// campaigns started before the store carried (the whole list and outcomes, compacted); a run that
// receives such a state moves it into the store first (campaign.ts).
import type { CampaignState, CloudOutcome, LegacyCampaignState } from './campaignTypes';

/** The carried form of the current state: the spec's name list is dropped once resolved. */
export function carryState(state: CampaignState): CampaignState {
  const spec =
    state.phase === 'resolving'
      ? state.spec
      : { ...state.spec, spec: { ...state.spec.spec, clouds: { ...state.spec.spec.clouds, names: [] } } };
  return { ...state, spec };
}

export function isLegacyState(
  state: CampaignState | LegacyCarriedCampaignState,
): state is LegacyCarriedCampaignState {
  return (state as { version?: number }).version !== 2;
}

// ---- before the record store (kept for campaigns that carry this shape) ----

/** A reason is kept to its first 500 characters here; the cloud's own revision has all of it. */
const MAX_REASON = 500;

export type CarriedOutcome = Omit<CloudOutcome, 'cloud'> & { cloud?: string };

export interface LegacyCarriedCampaignState extends Omit<LegacyCampaignState, 'outcomes'> {
  outcomes: Record<string, CarriedOutcome>;
}

export const clipReason = (s: string | undefined): string | undefined =>
  s && s.length > MAX_REASON ? `${s.slice(0, MAX_REASON)}…` : s;

export function carryLegacyState(state: LegacyCampaignState): LegacyCarriedCampaignState {
  const outcomes: Record<string, CarriedOutcome> = {};
  for (const [cloud, { cloud: _, reason, revertError, ...rest }] of Object.entries(state.outcomes)) {
    outcomes[cloud] = { ...rest };
    if (reason !== undefined) outcomes[cloud]!.reason = clipReason(reason);
    if (revertError !== undefined) outcomes[cloud]!.revertError = clipReason(revertError);
  }
  // Once resolved, the named clouds are state.clouds (plus unknown names, which have an outcome):
  // the spec's own list is never read again.
  const spec =
    state.phase === 'resolving'
      ? state.spec
      : { ...state.spec, spec: { ...state.spec.spec, clouds: { ...state.spec.spec.clouds, names: [] } } };
  return { ...state, spec, outcomes };
}

/** The state a legacy run works with; also accepts state carried before outcomes dropped their name. */
export function restoreLegacyState(carried: LegacyCarriedCampaignState): LegacyCampaignState {
  const outcomes: Record<string, CloudOutcome> = {};
  for (const [cloud, o] of Object.entries(carried.outcomes)) outcomes[cloud] = { ...o, cloud };
  return { ...carried, outcomes };
}
