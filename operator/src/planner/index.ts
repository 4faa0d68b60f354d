// The planner's public API (DESIGN.md §2): pure functions from informer snapshots to
// plan specs. The operator's shell calls these and nothing deeper; see README.md.
export {
  compilePlannerConfig, LOCAL_TRAFFIC_MODES, DEFAULT_MAX_ENDPOINTS_PER_PART, DEFAULT_NODE_PORT_RANGE, DEFAULT_RESERVED_PORTS,
  type AddressPort, type CompiledConfig, type LocalTrafficMode, type ExposureConfig, type NodePlannerConfig, type PlannerConfig, type PlannerSettings, type ProxyMode,
} from './config.js';
export { planService, TRIGGER_TIME_ANNOTATION, type ServicePlanInput, type ServicePlanResult } from './plan-service.js';
export { createSliceMemo, type SliceMemo } from './endpoints.js';
export { planNode, nodePortAddressesFor, ZONE_LABEL, type NodePlanInput } from './plan-node.js';
export { resolveExposures, type ExposureInput, type ExposureResolution } from './resolve-exposures.js';
export type { ConditionDraft, EndpointsOf, PolicyStatusDraft } from './policy-status.js';
export { readyCondition } from './policy-status.js';
export { apiServerEndpointsOf, API_SERVER_SERVICE } from './claimable.js';
export { decideHandling, SERVICE_PROXY_NAME_LABEL, type ServiceHandling, type SkipReason } from './selection.js';
export { TOPOLOGY_MODE_ANNOTATION, topologyRequested } from './traffic.js';
export { servicePlanName } from './naming.js';
export type { PlanWarning, PlanWarningReason } from './warnings.js';
