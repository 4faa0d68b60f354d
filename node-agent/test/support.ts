/** Test support other packages' tests use: the dataplane cluster in network namespaces. */
export * from './dataplane/cluster.js';
