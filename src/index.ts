export { LifelineError, redact } from './errors.js';
export * from './exec/index.js';
export * from './pool/index.js';
export * from './socket/index.js';
