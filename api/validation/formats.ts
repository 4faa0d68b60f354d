/**
 * String formats of the CRD schemas, as the API server checks them. Pure (no imports), so
 * the planner can use the same pattern the validators use.
 */

/**
 * `format: date-time`: RFC 3339 with a time zone, as the API server's OpenAPI validation
 * accepts it (a lowercase `t` and `z` included, as RFC 3339 allows).
 */
export const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
