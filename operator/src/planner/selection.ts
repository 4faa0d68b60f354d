// Which Services natplan programs. Mirrors kube-proxy's own filter (it ignores Services
// that carry `service.kubernetes.io/service-proxy-name`) so that in `complement` mode the
// two never program the same Service, and in `replace` mode natplan takes everything
// that names no other proxy.
import type { V1Service } from '@kubernetes/client-node';
import type { PlannerConfig } from './config.js';

export const SERVICE_PROXY_NAME_LABEL = 'service.kubernetes.io/service-proxy-name';

/**
 * Why a Service gets no plan at all: `OtherProxy` when its label names another proxy,
 * `NotOurs` when it names none and natplan runs in `complement` mode.
 */
export type SkipReason = 'ExternalName' | 'OtherProxy' | 'NotOurs' | 'Headless' | 'NoClusterIP';

/**
 * How the planner treats a Service:
 * - `full`: natplan owns its frontends (cluster IPs, node ports, external and LB IPs).
 * - `exposureOnly`: another proxy (or nobody, for headless) owns the frontends, but a
 *   NatExposurePolicy targets it, so the plan carries ports and endpoints and no frontends.
 * - `skip`: no plan; an existing one is deleted.
 */
export type ServiceHandling =
  | { readonly kind: 'full' }
  | { readonly kind: 'exposureOnly'; readonly because: Exclude<SkipReason, 'ExternalName'> }
  | { readonly kind: 'skip'; readonly reason: SkipReason; readonly message: string };

function namesNatplan(service: V1Service, config: Pick<PlannerConfig, 'mode' | 'proxyName'>): { proxied: boolean; label: string | undefined } {
  const label = service.metadata?.labels?.[SERVICE_PROXY_NAME_LABEL];
  const proxied = config.mode === 'replace' ? label === undefined || label === config.proxyName : label === config.proxyName;
  return { proxied, label };
}

/** Decides how a Service is handled; `exposed` says whether any exposure policy selects it. */
export function decideHandling(service: V1Service, config: Pick<PlannerConfig, 'mode' | 'proxyName'>, exposed: boolean): ServiceHandling {
  const spec = service.spec;
  if (spec?.type === 'ExternalName') {
    return { kind: 'skip', reason: 'ExternalName', message: 'ExternalName Services are DNS aliases; there is nothing to NAT' };
  }
  const { proxied, label } = namesNatplan(service, config);
  const notOurs = (because: Exclude<SkipReason, 'ExternalName'>, message: string): ServiceHandling =>
    exposed ? { kind: 'exposureOnly', because } : { kind: 'skip', reason: because, message };
  if (!proxied) {
    return label === undefined
      ? notOurs('NotOurs', `mode ${config.mode}: only Services labelled ${SERVICE_PROXY_NAME_LABEL}=${config.proxyName} are handled`)
      : notOurs('OtherProxy', `${SERVICE_PROXY_NAME_LABEL}=${label} names another proxy`);
  }
  if (spec?.clusterIP === 'None') return notOurs('Headless', 'headless Services have no virtual IP');
  if (!spec?.clusterIP && (spec?.clusterIPs ?? []).length === 0) {
    return notOurs('NoClusterIP', 'no cluster IP is allocated yet');
  }
  return { kind: 'full' };
}
