// The environment patterns live in src/core/glob.ts (the GitHub connector matches them too, and
// connectors import only src/core); re-exported here for the config checks.
export * from '../core/glob.js';
