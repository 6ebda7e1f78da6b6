import { PatchbayError } from '../../src/lib/errors';
import { workflowMemory } from '../../src/worker/workflowMemory';

test('defaults: 500 cached workflows in a 512 MiB workflow heap', () => {
  expect(workflowMemory({})).toEqual({ maxCachedWorkflows: 500, workflowHeapMb: 512 });
});

test('a bigger cache gets 1 MiB of workflow heap per cached workflow unless the heap is given', () => {
  expect(workflowMemory({ PATCHBAY_MAX_CACHED_WORKFLOWS: '2000' })).toEqual({
    maxCachedWorkflows: 2000,
    workflowHeapMb: 2000,
  });
  expect(workflowMemory({ PATCHBAY_MAX_CACHED_WORKFLOWS: '50' }).workflowHeapMb).toBe(512);
  expect(workflowMemory({ PATCHBAY_MAX_CACHED_WORKFLOWS: '2000', PATCHBAY_WORKFLOW_HEAP_MB: '0' })).toEqual({
    maxCachedWorkflows: 2000,
    workflowHeapMb: 0,
  });
});

test('a value that is not a whole number is refused with its name', () => {
  expect(() => workflowMemory({ PATCHBAY_WORKFLOW_HEAP_MB: '1g' })).toThrow(PatchbayError);
  expect(() => workflowMemory({ PATCHBAY_WORKFLOW_HEAP_MB: '1g' })).toThrow(
    'PATCHBAY_WORKFLOW_HEAP_MB must be a whole number, 0 or more (got "1g")',
  );
  expect(() => workflowMemory({ PATCHBAY_MAX_CACHED_WORKFLOWS: '-1' })).toThrow(
    'PATCHBAY_MAX_CACHED_WORKFLOWS',
  );
});
