import type { Connection } from '@temporalio/client';
import { PatchbayError } from '../../src/lib/errors';
import { checkSearchAttributes } from '../../src/worker/searchAttributeCheck';

const connection = (listed: Record<string, number> | Error) =>
  ({
    operatorService: {
      listSearchAttributes: async () => {
        if (listed instanceof Error) throw listed;
        return { customAttributes: listed, systemAttributes: { WorkflowId: 2 } };
      },
    },
  }) as unknown as Connection;

test('a namespace without the attributes the workflows set is refused, with the commands that fix it', async () => {
  const error = await checkSearchAttributes(
    connection({ CampaignId: 2, Cloud: 2, Service: 2, TargetVersion: 2 }),
    'prod',
  ).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(PatchbayError);
  expect((error as PatchbayError).message).toBe(
    "namespace prod lacks search attributes Patchbay's workflows set: Outcome (Keyword); create them first: " +
      'temporal operator search-attribute create --namespace prod --name Outcome --type Keyword',
  );
});

test('all there, or not allowed to list them: the worker starts', async () => {
  await expect(
    checkSearchAttributes(
      connection({ CampaignId: 2, Cloud: 2, Service: 2, TargetVersion: 2, Outcome: 2 }),
      'x',
    ),
  ).resolves.toBeUndefined();
  await expect(
    checkSearchAttributes(connection(new Error('PERMISSION_DENIED')), 'x'),
  ).resolves.toBeUndefined();
});
