// The `lifeline-net` entry point: core errors, LiveSocket, Pool, execute and its policies, protocol classifiers.
export { LifelineError, redact } from './core/errors.js';
export * from './exec/index.js';
export * from './observe/index.js';
export * from './pool/index.js';
export * from './protocols/index.js';
export * from './socket/index.js';
