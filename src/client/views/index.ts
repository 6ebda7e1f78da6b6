// The one place the CLI picks how to read a cloud's runtime: from the record.
import type { CloudRecord } from '../../record/schema';
import { dockerView } from './dockerView';
import { kubernetesView } from './kubernetesView';
import type { RuntimeView } from './runtimeView';

export type { RuntimeView } from './runtimeView';

export function runtimeView(record: CloudRecord): RuntimeView {
  const { name } = record.metadata;
  const { kubernetes, docker } = record.spec.runtime;
  return kubernetes ? kubernetesView(name, kubernetes) : dockerView(name, docker.hosts);
}
