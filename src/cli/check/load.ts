// How `lifeline check` loads a driver (only the one the URL's scheme needs, when it needs it) and turns a
// failure to reach or query the server into CheckUnreachableError, password-free.

import { redact } from '../../core/errors.js';
import { missingPackage } from '../args.js';
import { CheckDriverMissingError, CheckUnreachableError } from './types.js';

/** Imports a driver; a missing package becomes CheckDriverMissingError naming what to install. */
export async function loadDriver<T>(scheme: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const missing = missingPackage(error);
    if (missing === undefined) throw error;
    throw new CheckDriverMissingError(
      `checking a ${scheme}:// server needs the package '${missing}', which is not installed: npm install ${missing}`,
      { cause: error },
    );
  }
}

/** The reason a connection or a query failed, as one password-free line. */
export function reason(error: unknown): string {
  const e = error as { message?: unknown; code?: unknown; errors?: unknown } | null;
  let text = typeof e?.message === 'string' && e.message !== '' ? e.message : String(error);
  // AggregateError (a host with several addresses) carries the useful messages inside.
  if (Array.isArray(e?.errors) && e.errors.length > 0) {
    text = e.errors.map((x) => String((x as { message?: unknown } | null)?.message ?? x)).join('; ');
  }
  const code = typeof e?.code === 'string' && !text.includes(e.code) ? ` (${e.code})` : '';
  return redact(`${text.split('\n')[0]}${code}`);
}

/** CheckUnreachableError for `url` (already redacted) that failed with `error`, with a hint when known. */
export function unreachable(url: string, error: unknown, hint = ''): CheckUnreachableError {
  if (error instanceof CheckUnreachableError) return error;
  return new CheckUnreachableError(`could not check ${url}: ${reason(error)}${hint ? `. ${hint}` : ''}`, {
    cause: error,
  });
}
