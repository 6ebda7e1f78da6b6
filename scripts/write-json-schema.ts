// Regenerates schema/cloud-record.schema.json from the zod schema: npx tsx scripts/write-json-schema.ts
// Formatted with the project's prettier settings so `prettier --check` passes on the generated file.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { format, resolveConfig } from 'prettier';
import { recordJsonSchema } from '../src/record/jsonSchema';

async function main(): Promise<void> {
  const out = path.join(__dirname, '..', 'schema', 'cloud-record.schema.json');
  const options = (await resolveConfig(out)) ?? {};
  const text = await format(JSON.stringify(recordJsonSchema(), null, 2), { ...options, filepath: out });
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, text);
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
