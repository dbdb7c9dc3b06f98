// The core types every layer shares, and the only part of src/ that connectors may import
// (eslint.config.js enforces it; test/core-boundary.test.ts checks the rule):
//   events.ts      normalized events, as connectors write them and metrics read them
//   deployments.ts which deployments are successful (METRICS.md "Deployments")
//   stream.ts      streams: the StreamKey a stream travels as, the typed Stream, streamId/partitionOf
//   store.ts       the Store interface and source health
//   connector.ts   the Connector interface and its sync report
//   glob.ts        environment name patterns (`production-*`) and their matcher
//   errors.ts      typed errors (a source's, a rate limit, a config problem)
//   result.ts      the evaluation result of one key result
//   sources.ts     each source's settings as a connector receives them
//   secret.ts      a value from the environment that never prints itself
// Nothing here imports anything outside src/core.
export * from './connector.js';
export * from './deployments.js';
export * from './errors.js';
export * from './events.js';
export * from './glob.js';
export * from './result.js';
export * from './secret.js';
export * from './sources.js';
export * from './store.js';
export * from './stream.js';
