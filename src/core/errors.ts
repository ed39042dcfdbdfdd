// The base of every error lifeline raises, and the one style of their messages.
//
// Message style (every error class in src/; test/core/error-style.test.ts checks each exported class):
// 1. What happened, then what to do: `<what happened>; <what to do>` (or `. ` between them when either part
//    is itself a sentence pair). The "what to do" part is a clause that starts with an imperative verb
//    ("use a new connection", "raise readTimeoutMs if …", "check whether it took effect …").
// 2. A lower-case first letter, as Node's and Go's messages are, since a message is read embedded in a log
//    line (`error: the pool is closed; …`). Except when it starts with a name from code (`factory.alive()`,
//    `Pool option "max"`, `INCR`) or with the exact wording of the driver lifeline stands in for, which
//    applications match on (mysql2's 'Pool is closed.', pg.Pool's 'timeout exceeded when trying to connect').
// 3. No trailing period; one line.
// 4. The values it names come from what went wrong (endpoint, timeout, option, the cause's own message) and
//    never carry a password or a full connection string: the base class passes every message through
//    `redact`, so a password in a URL or a `password=` pair that slipped into a cause's text is hidden.
// `code` is the stable part to branch on; the message may be reworded.
import { brand } from './brand.js';
import { redact } from './redact.js';

/**
 * Base of every error lifeline raises. `code` is stable across versions and safe to branch on;
 * the message says what happened and what to do. Messages never carry passwords or full
 * connection strings (see `redact`).
 */
export class LifelineError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(redact(message), options);
    this.code = code;
    this.name = new.target.name;
  }
}
brand(LifelineError, 'LifelineError');

export { redact } from './redact.js';
