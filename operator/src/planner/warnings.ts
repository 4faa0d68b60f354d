// Input the planner could not use is reported, never silently dropped (DESIGN.md §1):
// the shell turns these into Kubernetes Events on the Service or policy.

/** Why part of a Service's input was left out of its plan. */
export type PlanWarningReason =
  | 'ExternalIPNotAllowed'
  | 'InvalidAddress'
  | 'AddressFamilyMismatch'
  | 'InvalidSourceRange'
  | 'UnsupportedProtocol'
  | 'DuplicateEndpoint'
  | 'TooManyEndpoints';

export interface PlanWarning {
  readonly reason: PlanWarningReason;
  readonly message: string;
}
