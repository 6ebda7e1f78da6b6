// Search attributes that make campaigns findable in the Web UI and by `temporal workflow list`
// (e.g. CampaignId = "keystone-cve" AND Cloud = "east-3"). The embedded dev server registers them at
// start; on a cluster: temporal operator search-attribute create --name CampaignId --type Keyword …
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const CAMPAIGN_ID = defineSearchAttributeKey('CampaignId', SearchAttributeType.KEYWORD);
export const CLOUD = defineSearchAttributeKey('Cloud', SearchAttributeType.KEYWORD);
export const SERVICE = defineSearchAttributeKey('Service', SearchAttributeType.KEYWORD);
export const TARGET_VERSION = defineSearchAttributeKey('TargetVersion', SearchAttributeType.KEYWORD);
/**
 * How a change (cloud:<name>:r<N>) or a campaign's cloud (campaign:<id>:<cloud>) ended: applied,
 * rolled-back, failed (campaign clouds also skipped-busy, skipped-unreachable, reverted…). The Web
 * UI shows a rolled-back change as "Completed" like a success; `Outcome = "rolled-back"` finds it.
 */
export const OUTCOME = defineSearchAttributeKey('Outcome', SearchAttributeType.KEYWORD);

/** name=Type pairs for `temporal server start-dev --search-attribute`. */
export const SEARCH_ATTRIBUTES: Array<[string, string]> = [
  ['CampaignId', 'Keyword'],
  ['Cloud', 'Keyword'],
  ['Service', 'Keyword'],
  ['TargetVersion', 'Keyword'],
  ['Outcome', 'Keyword'],
];
