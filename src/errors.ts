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

/** Replaces the password in a connection string or URL so it can appear in a message or a log. */
export function redact(text: string): string {
  return text
    .replace(/(\w+:\/\/[^:/@\s]*:)[^@\s]*@/g, '$1***@')
    .replace(/(password\s*=\s*)('[^']*'|\S+)/gi, '$1***');
}
