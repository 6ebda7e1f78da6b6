// JSON Schema of what operators write, generated from the zod schema so the two cannot drift.
// Editors use it for completion and inline errors (yaml-language-server: $schema=...).
import { z } from 'zod';
import { CloudRecordSchema } from './schema';

/** A URN rather than a URL: the schema is shipped in the repository, not served from anywhere. */
export const RECORD_SCHEMA_ID = 'urn:patchbay:schema:cloud-record:v1';

export function recordJsonSchema(): object {
  // io: 'input' describes the file as written: durations as "10s" or ms, defaulted fields optional.
  const generated = z.toJSONSchema(CloudRecordSchema, { io: 'input' });
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: RECORD_SCHEMA_ID,
    title: 'Patchbay deployment record (one cloud)',
    description: 'A cloud: its Docker hosts and the services to run on them. See examples/lab.yaml.',
    ...rest,
  };
}
