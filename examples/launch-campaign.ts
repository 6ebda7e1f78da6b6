// A campaign launcher as a team's own automation would write it, on Patchbay's client library
// (package "patchbay"): ask the fleet inventory which clouds still run an exposed build of a service,
// and start one campaign that patches exactly those, canary first, the rest after an approval.
//
//   node --require tsx/cjs examples/launch-campaign.ts --service keystone \
//     --running patchbay/keystone:22.0.2-0-deb12u3 --image patchbay/keystone:22.0.2-0-deb12u6 \
//     --name keystone-cve-2026-0042 [--label tier=prod] [--canary 1] [--approval] [--bake 10m] [--json]
//
// Temporal and the record store as for the CLI (TEMPORAL_ADDRESS, PATCHBAY_TASK_QUEUE,
// PATCHBAY_DATABASE_URL; the embedded ones by default). Prints the campaign it started (nothing is
// started when no cloud is exposed). `patchbay demo --fleet` runs it, so the fleet test covers it.
import os from 'node:os';
import { parseArgs } from 'node:util';
import { CampaignClient, PatchbayClient, temporalConfig, type ServiceInventory } from 'patchbay';
import { CampaignSpecSchema, campaignCloudWorkflowId, type CampaignSpec } from 'patchbay/campaign';

export interface LaunchOptions {
  /** The campaign's name (its workflow is campaign:<name>). */
  name: string;
  service: string;
  /** Images of `service` that make a cloud exposed (e.g. the vulnerable build). */
  running: string[];
  /** The image to patch them to. */
  image: string;
  /** Only clouds with these labels. */
  labels?: Record<string, string>;
  /** Clouds in the first wave (default 1). */
  canary?: number;
  /** The rest waits for an approval (the approve update). */
  approval?: boolean;
  /** Wait after the canary before the rest (default 0). */
  bake?: string;
  /** Clouds patched at once within a wave (default 5). */
  concurrency?: number;
}

export interface Launched {
  campaign: string | null;
  workflowId: string | null;
  /** The exposed clouds the campaign patches, in the order it launches them. */
  clouds: string[];
  /** Each cloud's workflow in the campaign (Web UI, `temporal workflow describe`). */
  cloudWorkflowIds: Record<string, string>;
  /** Clouds running another image of the service, by image (for the record). */
  others: Record<string, string[]>;
}

/** The clouds running one of `running`, by name. */
export function exposedClouds(inventory: ServiceInventory, running: string[]): string[] {
  return inventory.images
    .filter((i) => running.includes(i.image))
    .flatMap((i) => i.clouds)
    .sort();
}

/** The campaign for those clouds: canary, then the rest (after an approval when asked), halting at the first failure. */
export function campaignFor(options: LaunchOptions, clouds: string[]): CampaignSpec {
  return CampaignSpecSchema.parse({
    apiVersion: 'patchbay/v1',
    kind: 'Campaign',
    metadata: {
      name: options.name,
      description: `${options.service} -> ${options.image} on the ${clouds.length} cloud(s) running ${options.running.join(', ')}`,
    },
    spec: {
      // Named from the inventory, and still checked when the campaign starts: a cloud patched in
      // between (no longer running an exposed image) is left out.
      clouds: { names: clouds, running: { image: options.running } },
      service: options.service,
      image: options.image,
      waves: [
        { name: 'canary', size: options.canary ?? 1 },
        { name: 'rest', size: 'rest', approval: options.approval ?? false },
      ],
      concurrency: options.concurrency ?? 5,
      bake: options.bake ?? '0s',
      failureBudget: { perWave: 0, total: 0, onExceeded: 'halt' },
    },
  });
}

export async function launch(client: PatchbayClient, options: LaunchOptions, by: string): Promise<Launched> {
  const inventory = await client.inventory.byService(options.service, { labels: options.labels });
  const clouds = exposedClouds(inventory, options.running);
  const others = Object.fromEntries(
    inventory.images.filter((i) => !options.running.includes(i.image)).map((i) => [i.image, i.clouds]),
  );
  if (clouds.length === 0) return { campaign: null, workflowId: null, clouds, cloudWorkflowIds: {}, others };
  const started = await new CampaignClient(client).start(campaignFor(options, clouds), by);
  return {
    campaign: started.id,
    workflowId: started.workflowId,
    clouds,
    cloudWorkflowIds: Object.fromEntries(clouds.map((c) => [c, campaignCloudWorkflowId(started.id, c)])),
    others,
  };
}

export function parseLaunchArgs(argv: string[]): LaunchOptions & { json: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string' },
      service: { type: 'string' },
      running: { type: 'string', multiple: true },
      image: { type: 'string' },
      label: { type: 'string', multiple: true },
      canary: { type: 'string' },
      approval: { type: 'boolean' },
      bake: { type: 'string' },
      concurrency: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const missing = (['name', 'service', 'running', 'image'] as const).filter((k) => !values[k]);
  if (missing.length) throw new Error(`missing ${missing.map((k) => `--${k}`).join(', ')}`);
  return {
    name: values.name!,
    service: values.service!,
    running: values.running!,
    image: values.image!,
    labels: Object.fromEntries(
      (values.label ?? []).map((l) => [l.split('=')[0], l.split('=').slice(1).join('=')]),
    ),
    canary: values.canary ? Number(values.canary) : undefined,
    approval: values.approval,
    bake: values.bake,
    concurrency: values.concurrency ? Number(values.concurrency) : undefined,
    json: values.json ?? false,
  };
}

async function main(argv: string[]): Promise<number> {
  const options = parseLaunchArgs(argv);
  const client = await PatchbayClient.connect(temporalConfig());
  try {
    const by = process.env.PATCHBAY_AUTHOR || `launch-campaign@${os.hostname()}`;
    const launched = await launch(client, options, by);
    if (options.json) console.log(JSON.stringify(launched));
    else if (!launched.campaign) console.log(`no cloud runs ${options.running.join(' or ')}: nothing to do`);
    else
      console.log(
        `campaign ${launched.campaign} started (workflow ${launched.workflowId}) on ${launched.clouds.length} exposed cloud(s): ${launched.clouds.join(', ')}`,
      );
    return 0;
  } finally {
    await client.close();
  }
}

if (require.main === module)
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (error: Error) => {
      console.error(`launch-campaign: ${error.message}`);
      process.exitCode = 1;
    },
  );
