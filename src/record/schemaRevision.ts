// Which revision of the record schema a workflow input was normalised with (its defaults filled in).
// The change and service workflows parse their records only when the input names an older revision or
// none: parsing is how a record stored by an older version gets newer fields' defaults, and it costs
// zod (~1 MiB per workflow instance). Bump it with any change to the record schema — a field, a
// default, a transform; test/record/schemaRevision.test.ts pins the JSON Schema's digest to it and
// fails when the schema changes without a bump (a transform's code it cannot see: bump by hand).
export const RECORD_SCHEMA_REVISION = 3;
