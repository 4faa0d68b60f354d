/**
 * @natplan/api: the natplan.io kinds as TypeScript types and JSON schemas, generated from
 * the CRDs in this folder, and the API server's own validation of them (OpenAPI + CEL).
 */
export * from './generated/types.js';
export * from './generated/schemas.js';
export * from './validation/index.js';
