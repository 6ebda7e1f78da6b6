// The one edit a patch makes to a record: one service's image replaced, everything else as it was.
import type { CloudRecord } from './schema';

export function withImage(record: CloudRecord, service: string, image: string): CloudRecord {
  return {
    ...record,
    spec: {
      ...record.spec,
      services: record.spec.services.map((s) => (s.name === service ? { ...s, image } : s)),
    },
  };
}
