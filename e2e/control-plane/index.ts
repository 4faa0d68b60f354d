export { startControlPlane, freePort, kubeconfigYaml, SERVICE_CIDR, type ControlPlane, type ControlPlaneOptions } from './control-plane.js';
export { installCrds, loadCrds, crdsDir } from './crds.js';
export { binaryPath, binDir, kubectlDir, K8S_VERSION } from './binaries.js';
export { issueClientCertificate } from './certs.js';
export { waitFor } from './wait.js';
export { kubectl } from './kubectl.js';
export { saveState, readState, type State } from './state.js';
export { helm } from './helm.js';
export { startControllerManager, CONTROLLERS } from './controller-manager.js';
