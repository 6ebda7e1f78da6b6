// Which of Patchbay's search attributes (../workflows/searchAttributes.ts) a namespace lacks, and
// registering them: one place for the worker's start-up check, the embedded dev server and
// `patchbay doctor --fix`.
import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../workflows/searchAttributes';

type Operator = Pick<Connection, 'operatorService'>;

/** name=Type pairs the namespace does not have (custom or system). */
export async function missingSearchAttributes(
  connection: Operator,
  namespace: string,
): Promise<Array<[string, string]>> {
  const listed = await connection.operatorService.listSearchAttributes({ namespace });
  const have = { ...listed.customAttributes, ...listed.systemAttributes };
  return SEARCH_ATTRIBUTES.filter(([name]) => !(name in have));
}

/** "Keyword" -> INDEXED_VALUE_TYPE_KEYWORD, "KeywordList" -> INDEXED_VALUE_TYPE_KEYWORD_LIST. */
function indexedType(type: string): number {
  const value = (temporal.api.enums.v1.IndexedValueType as unknown as Record<string, number>)[
    `INDEXED_VALUE_TYPE_${type.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}`
  ];
  if (value === undefined) throw new Error(`unknown search attribute type ${type}`);
  return value;
}

/** Registers the given name=Type pairs (nothing when the list is empty). */
export async function addSearchAttributes(
  connection: Operator,
  namespace: string,
  attributes: Array<[string, string]>,
): Promise<void> {
  if (attributes.length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(attributes.map(([name, type]) => [name, indexedType(type)])),
  });
}
