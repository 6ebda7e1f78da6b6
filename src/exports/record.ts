// `patchbay/record`: the deployment record's schema (zod, the source of truth), its types, and how
// the CLI reads a record file. What a team's own tooling needs to write or check records.
export {
  API_VERSION,
  CloudRecordSchema,
  DEFAULT_FAILURE_THRESHOLD,
  HealthCheck,
  Service,
  UpgradePolicy,
  type CloudRecord,
  type CloudRecordInput,
  type ConfigFileSpec,
  type DockerHostSpec,
  type HealthCheckSpec,
  type InstanceSpec,
  type JobSpec,
  type KubernetesRuntimeSpec,
  type LoadBalancerSpec,
  type ServiceSpec,
} from '../record/schema';
export { loadRecordFile, parseRecordText } from '../record/load';
export { recordJsonSchema } from '../record/jsonSchema';
export { withImage } from '../record/withImage';
export { imageVersion } from '../record/identity';
