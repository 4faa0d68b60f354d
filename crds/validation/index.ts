export { validateServiceNatPlan, validateNodeNatPlan, validateNatExposurePolicy, validateObject, validatorFor, type FieldError, type ValidationResult } from './validator.js';
export { isKubernetesIP, isKubernetesCIDR } from './kube-cel.js';
