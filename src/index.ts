export { LifelineError, redact } from './core/errors.js';
export * from './exec/index.js';
export * from './pool/index.js';
export * from './socket/index.js';
