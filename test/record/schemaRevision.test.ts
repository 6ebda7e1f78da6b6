// The change and service workflows skip parsing records stamped with RECORD_SCHEMA_REVISION, so the
// revision must move whenever the schema does: its JSON Schema's digest is pinned to it here.
import { createHash } from 'node:crypto';
import { recordJsonSchema } from '../../src/record/jsonSchema';
import { RECORD_SCHEMA_REVISION } from '../../src/record/schemaRevision';

/** Digest of the JSON Schema (defaults included) at each revision; add a line when you bump it. */
const DIGESTS: Record<number, string> = {
  1: '4543a6bd6dd22994e0d8f4f474557bd2c1607b75806f226e2d7573a2d8a097c4',
  2: 'b9f2fe9f03bd0be802e975fa26646f76a42b4f72f110b8f2e102d52406a166a7',
  3: 'c69c89df4cb8aff152f347ddf4ac467d5f3b9efbf5570f7e4e1dfc2a5df04cdc',
};

test('the record schema has not changed without a new RECORD_SCHEMA_REVISION', () => {
  const digest = createHash('sha256').update(JSON.stringify(recordJsonSchema())).digest('hex');
  const pinned = DIGESTS[RECORD_SCHEMA_REVISION];
  if (pinned === undefined) {
    throw new Error(
      `RECORD_SCHEMA_REVISION is ${RECORD_SCHEMA_REVISION} but DIGESTS has no line for it: add "${RECORD_SCHEMA_REVISION}: '${digest}'"`,
    );
  }
  if (digest !== pinned) {
    throw new Error(
      `the record schema changed: bump RECORD_SCHEMA_REVISION in src/record/schemaRevision.ts to ${RECORD_SCHEMA_REVISION + 1} and add "${RECORD_SCHEMA_REVISION + 1}: '${digest}'" to DIGESTS here (got ${digest}, revision ${RECORD_SCHEMA_REVISION} pins ${pinned})`,
    );
  }
  expect(digest).toBe(pinned);
});
