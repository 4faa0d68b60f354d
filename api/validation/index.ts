export { validateServiceNatPlan, validateNodeNatPlan, validateNatExposurePolicy, validateNatExposureGrant, validateObject, validatorFor, type FieldError, type ValidationResult } from './validator.js';
export { isKubernetesIP, isKubernetesCIDR } from './kube-cel.js';
export { RFC3339 } from './formats.js';
