// The read side of the runtime boundary: what runs for a cloud, as `plan` and `status` show it.
// One implementation per runtime (dockerView.ts, kubernetesView.ts), picked in one place from the
// record (index.ts): the CLI never reads a runtime itself. A host reached through an agent is one
// more implementation here, not a CLI change.
import type { CloudRecord } from '../../record/schema';
import type { PlannedService } from '../plan';
import type { CloudStatus } from '../status';

export interface RuntimeView {
  /** What an apply of `record` would do per service, against the current revision and what runs. */
  plan(record: CloudRecord, current: CloudRecord | null): Promise<PlannedService[]>;
  /** Per service of the applied record: what runs for it, its health and its drift. */
  status(record: CloudRecord): Promise<CloudStatus['services']>;
}
