/**
 * `natplan_build_info`: a gauge fixed at 1 whose labels say which natplan and which
 * Node.js runtime a process runs, so dashboards can join or group by version (the
 * convention of Kubernetes' own `kubernetes_build_info`).
 */
// This package's own package.json (every natplan package carries the product's version;
// tools/workspaces.test.ts checks they agree). tsc copies it into dist/.
import packageJson from '../package.json' with { type: 'json' };
import type { Metrics } from './metrics.js';

export interface BuildInfo { version: string; node_version: string; platform: string }

export const BUILD_INFO: BuildInfo = {
  version: packageJson.version,
  node_version: process.version,
  platform: `${process.platform}/${process.arch}`,
};

/** Registers `<prefix>build_info{version,node_version,platform} 1`. */
export function registerBuildInfo(metrics: Metrics, info: BuildInfo = BUILD_INFO): void {
  metrics.gauge('build_info', 'A metric with a constant 1 value labelled by the natplan version, Node.js version and platform.', ['version', 'node_version', 'platform'])
    .set({ ...info }, 1);
}
