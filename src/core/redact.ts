// Hiding passwords in text that is about to appear in a message or a log. When the text is ambiguous (a
// password may hold any character, '@', '/' and spaces included), more is hidden rather than less: a message
// that lost a host name is a nuisance, a message that carries part of a password is a leak.

/**
 * Where a URL's scheme starts: `postgres://`, `redis://`, `mysql://`, … At most 32 characters, so a long word
 * costs one bounded look per character, not a scan to its end.
 */
const SCHEME = /[a-z][a-z0-9+.-]{0,31}:\/\//gi;

/**
 * A scheme that starts a further URL in the same text: it must follow a separator, so `x://` inside a
 * password (which follows a letter or a symbol) does not cut that password short.
 */
const NEXT_URL = /[\s,;(<'"=][a-z][a-z0-9+.-]{0,31}:\/\//gi;

/**
 * `password=…` as libpq's conninfo, a URL query, an environment dump (`PGPASSWORD=…`) or a config printout
 * (`password: '…'`, `"password":"…"`) writes it. The value is single-quoted or double-quoted (backslash
 * escapes inside, as libpq allows; an unterminated quote runs to the end) or bare: up to whitespace, a
 * backslash escaping the next character as in libpq. In a URL query too: pg's parser would end the value at
 * '&', but the '&' may belong to the password the user meant.
 */
const KEY_VALUE =
  /(^|[^\w])(["']?)(\w*(?:password|passwd|pwd))\2([ \t]*[=:][ \t]*)(?:'(?:[^'\\]|\\[\s\S])*(?:'|$)|"(?:[^"\\]|\\[\s\S])*(?:"|$)|(?:[^\s\\]|\\[\s\S])*)/gi;

/**
 * Replaces passwords with `***` so the text can appear in a message or a log (a non-string is converted to
 * text first):
 * - in URLs (`postgres://user:***@host/db`): the user info runs to the last '@' before the next URL or the
 *   end of the text, as far as the password could reach (WHATWG's URL parser, which pg uses, takes it to
 *   the last '@' of the authority; a password written with a raw '/', '?', '#' or space reaches further);
 * - in `password=…` pairs: libpq conninfo (quoted or bare), URL queries, `PGPASSWORD=…`, `sslpassword`,
 *   `passwd` and `pwd` keys, and `password: '…'` / `"password":"…"` as configs print.
 */
export function redact(text: string): string {
  // Called on error paths with whatever was thrown: a non-string is shown as text, never a new TypeError.
  return redactKeyValues(redactUrls(typeof text === 'string' ? text : printable(text)));
}

function printable(value: unknown): string {
  try {
    return String(value);
  } catch {
    // An object without a prototype, or whose toString throws.
    return Object.prototype.toString.call(value);
  }
}

// Linear in the text's length: the '@' positions and the separators before further URLs are found once, and
// both lists are walked forward as the URLs are (each URL's end and last '@' only move forward).
function redactUrls(text: string): string {
  if (!text.includes('://')) return text;
  const ats: number[] = [];
  for (let i = text.indexOf('@'); i >= 0; i = text.indexOf('@', i + 1)) ats.push(i);
  if (ats.length === 0) return text;
  const separators: number[] = [];
  for (const m of text.matchAll(NEXT_URL)) separators.push(m.index);
  let out = '';
  let copied = 0;
  let s = 0;
  let a = -1;
  SCHEME.lastIndex = 0;
  for (let m = SCHEME.exec(text); m !== null; m = SCHEME.exec(text)) {
    const start = m.index + m[0].length;
    while (s < separators.length && (separators[s] as number) < start) s++;
    const end = s < separators.length ? (separators[s] as number) + 1 : text.length;
    while (a + 1 < ats.length && (ats[a + 1] as number) < end) a++;
    const at = a >= 0 ? (ats[a] as number) : -1;
    if (at < start) {
      // No '@' before the next URL: no user info here.
      SCHEME.lastIndex = end;
      continue;
    }
    // A user name without ':' carries no password.
    const colon = text.indexOf(':', start);
    if (colon < 0 || colon > at) {
      SCHEME.lastIndex = at + 1;
      continue;
    }
    out += `${text.slice(copied, colon + 1)}***`;
    copied = at;
    SCHEME.lastIndex = at + 1;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

function redactKeyValues(text: string): string {
  return text.replace(KEY_VALUE, '$1$2$3$2$4***');
}
