// A campaign as an operator finds it in Temporal's Web UI (issue 19, item 4), checked in headless
// Chromium (src/lab/webUi.ts): the workflow list filtered by `CampaignId = "<id>"` lists every cloud's
// campaign workflow with its Outcome, and `Outcome = "rolled-back"` over the campaign's clouds and
// while it ran lists exactly the rolled-back clouds' workflows (their campaign workflow and the change
// that rolled back), read from the DOM; both pages are saved as PNGs. Shared by the browser test and
// the fleet e2e.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { PROJECT_ROOT } from '../../src/lib/config';
import { WebUi, type WorkflowListPage, type WorkflowRow } from '../../src/lab/webUi';
import { testEnv } from './env';

/** Screenshots land here (kept after the run; .state is not in git); PATCHBAY_TEST_ARTIFACTS moves them. */
export const ARTIFACTS =
  process.env.PATCHBAY_TEST_ARTIFACTS ?? path.join(PROJECT_ROOT, '.state', 'test', 'artifacts');

const COLUMNS = ['Status', 'Workflow ID', 'Cloud', 'Outcome', 'Type', 'End'];
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface CampaignInWebUi {
  campaignId: string;
  /** The clouds the campaign launched (each has a campaign:<id>:<cloud> workflow). */
  clouds: string[];
  /** Those whose change rolled back; the others must not show up as rolled back. */
  rolledBack: string[];
  /** Default: the test dev server's UI and frontend. */
  uiUrl?: string;
  address?: string;
  /** Where the PNGs go (default ARTIFACTS/webui). */
  dir?: string;
}

export interface CampaignInWebUiPages {
  campaign: WorkflowListPage;
  rolledBack: WorkflowListPage;
}

const quoted = (s: string) => `"${s.replace(/["\\]/g, '\\$&')}"`;
const cloudWorkflowId = (campaign: string, cloud: string) => `campaign:${campaign}:${cloud}`;
const isChangeOf = (id: string, cloud: string) =>
  id.startsWith(`cloud:${cloud}:r`) && /^\d+$/.test(id.slice(`cloud:${cloud}:r`.length));

function expectPng(file: string): void {
  const bytes = readFileSync(file);
  expect(bytes.length).toBeGreaterThan(PNG_SIGNATURE.length);
  expect(bytes.subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE)).toBe(true);
}

/** The rolled-back workflows a cloud should show: its campaign workflow and one change that rolled back. */
function rolledBackOf(rows: WorkflowRow[], campaign: string, cloud: string): string[] {
  return rows
    .map((r) => r.workflowId)
    .filter((id) => id === cloudWorkflowId(campaign, cloud) || isChangeOf(id, cloud));
}

/** When the campaign's workflow ran: its clouds' workflows started in between. */
async function campaignWindow(address: string, campaign: string): Promise<{ from: string; to: string }> {
  const connection = await Connection.connect({ address });
  try {
    const d = await new Client({ connection }).workflow.getHandle(`campaign:${campaign}`).describe();
    if (!d.closeTime) throw new Error(`campaign ${campaign} is still running (${d.status.name})`);
    return {
      from: new Date(d.startTime.getTime() - 1).toISOString(),
      to: new Date(d.closeTime.getTime() + 1).toISOString(),
    };
  } finally {
    await connection.close();
  }
}

/**
 * Opens the Web UI's list for the campaign and for its rollbacks, with jest expectations on what the
 * DOM shows. Polls (bounded) while the visibility store catches up with workflows that just ended.
 */
export async function expectCampaignInWebUi(c: CampaignInWebUi): Promise<CampaignInWebUiPages> {
  const dir = c.dir ?? path.join(ARTIFACTS, 'webui');
  const span = await campaignWindow(c.address ?? testEnv('address'), c.campaignId);
  const ui = await WebUi.open(c.uiUrl ?? testEnv('uiUrl'));
  try {
    const wanted = c.clouds.map((cloud) => cloudWorkflowId(c.campaignId, cloud));
    const campaign = await ui.list(`CampaignId = ${quoted(c.campaignId)}`, {
      screenshot: path.join(dir, `${c.campaignId}.png`),
      columns: COLUMNS,
      // Listed, and ended with their outcome recorded.
      until: (rows) =>
        wanted.every((id) => rows.some((r) => r.workflowId === id && r.cells.Outcome && r.cells.End)),
    });
    expectPng(campaign.screenshot);
    const ids = campaign.rows.map((r) => r.workflowId);
    expect(ids).toEqual(expect.arrayContaining([`campaign:${c.campaignId}`, ...wanted]));
    for (const cloud of c.clouds) {
      const row = campaign.rows.find((r) => r.workflowId === cloudWorkflowId(c.campaignId, cloud))!;
      expect({
        workflowId: row.workflowId,
        cloud: row.cells.Cloud,
        rolledBack: row.cells.Outcome === 'rolled-back',
      }).toEqual({ workflowId: row.workflowId, cloud, rolledBack: c.rolledBack.includes(cloud) });
    }

    // Every rollback among these clouds while the campaign ran, whatever workflow it is.
    const rolledBack = await ui.list(
      `Outcome = "rolled-back" AND Cloud IN (${c.clouds.map(quoted).join(', ')}) AND StartTime BETWEEN "${span.from}" AND "${span.to}"`,
      {
        screenshot: path.join(dir, `${c.campaignId}-rolled-back.png`),
        columns: COLUMNS,
        until: (rows) => c.rolledBack.every((cloud) => rolledBackOf(rows, c.campaignId, cloud).length === 2),
      },
    );
    expectPng(rolledBack.screenshot);
    const byCloud = Object.fromEntries(
      c.rolledBack.map((cloud) => [cloud, rolledBackOf(rolledBack.rows, c.campaignId, cloud)]),
    );
    for (const cloud of c.rolledBack) {
      expect(byCloud[cloud]).toContain(cloudWorkflowId(c.campaignId, cloud));
      expect(byCloud[cloud]!.filter((id) => isChangeOf(id, cloud))).toHaveLength(1);
    }
    // Exactly those: nothing else listed, and each row says so in its Outcome column.
    expect(rolledBack.rows.map((r) => r.workflowId).sort()).toEqual(Object.values(byCloud).flat().sort());
    expect(rolledBack.rows.map((r) => r.cells.Outcome)).toEqual(rolledBack.rows.map(() => 'rolled-back'));
    return { campaign, rolledBack };
  } finally {
    await ui.close();
  }
}
