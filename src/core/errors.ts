import { brand } from './brand.js';
/**
 * Base of every error lifeline raises. `code` is stable across versions and safe to branch on;
 * the message says what happened and what to do. Messages never carry passwords or full
 * connection strings (see `redact`).
 */
export class LifelineError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}
brand(LifelineError, 'LifelineError');

export { redact } from './redact.js';
