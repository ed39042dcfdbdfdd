/** Longest proxy or toxic name, in UTF-16 code units (as Toxiproxy clients and the CLI print them). */
export const MAX_NAME_LENGTH = 200;

// Unicode's Cc: the C0 and C1 control characters and DEL, not printable and refused in a request target.
const CONTROL = /\p{Cc}/u;
// With the u flag a surrogate pair is one code point, so this matches only a lone surrogate.
const LONE_SURROGATE = /[\ud800-\udfff]/u;

/**
 * What is wrong with a proxy or toxic name, or undefined when it is usable. A name is one segment of the
 * API's URL paths (`/proxies/{proxy}/toxics/{toxic}`), so it must come back intact from a client that
 * percent-encodes it: not empty, no "/", not "." or ".." (URL parsers resolve those as dot segments, even
 * percent-encoded), no control characters, no lone surrogate (it cannot be percent-encoded), and at most
 * {@link MAX_NAME_LENGTH} characters. The HTTP API, the proxy collection and the library all check here.
 */
export function nameProblem(name: unknown): string | undefined {
  const rule = `a string of 1 to ${MAX_NAME_LENGTH} characters, not "." or "..", without "/" or control characters`;
  if (typeof name !== 'string') return `must be ${rule}, got ${name === null ? 'null' : typeof name}`;
  if (name.length === 0 || name.length > MAX_NAME_LENGTH)
    return `must be ${rule}, got ${name.length} characters`;
  if (name === '.' || name === '..') return `must be ${rule}, got "${name}"`;
  if (name.includes('/')) return `must be ${rule}, got "${name}" (it contains "/")`;
  if (CONTROL.test(name)) return `must be ${rule}, got ${JSON.stringify(name)} (a control character)`;
  if (LONE_SURROGATE.test(name))
    return `must be ${rule}, got a string with a lone surrogate (not valid Unicode)`;
  return undefined;
}
