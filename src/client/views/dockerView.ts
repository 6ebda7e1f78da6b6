// Docker: the cloud's containers on each host of the record (read-only), grouped per service.
import type { DockerHostSpec } from '../../record/schema';
import { observeCloud } from '../observeCloud';
import { computePlan } from '../plan';
import { dockerServices } from '../status';
import type { RuntimeView } from './runtimeView';

export function dockerView(cloud: string, hosts: DockerHostSpec[]): RuntimeView {
  return {
    plan: async (record, current) => computePlan(record, current, await observeCloud(cloud, hosts)),
    status: async (record) => dockerServices(record, await observeCloud(cloud, hosts)),
  };
}
