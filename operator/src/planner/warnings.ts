// Input the planner could not use is reported, never silently dropped (DESIGN.md §1):
// the shell turns each into a Warning Event on the Service (shell/service-reconciler.ts).

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
