/**
 * @natplan/operator: the decision half of natplan. `main` is `natplan operator`;
 * `startOperator` runs the same controllers in process (tests, benchmarks). The pure
 * planner is its own export, `@natplan/operator/planner`.
 */
export { main } from './main.js';
export { OPERATOR_FLAGS, parseOperatorConfig, type OperatorConfig } from './config.js';
export { startOperator, type OperatorOptions, type RunningOperator } from './shell/operator.js';
export { FIELD_MANAGER } from './shell/plan-writer.js';
