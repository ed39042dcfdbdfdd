// Which SQL statements look like reads: a protocol-neutral routing guess shared by the Postgres and MySQL
// adapters' safe reads. The guess is never the proof: each adapter runs a candidate in a session the server
// keeps read-only, so a write taken for a read is refused before it changes anything.

/** Statements whose first keyword makes them candidates: the server refuses any write among them. */
const READ_KEYWORDS = ['select', 'with', 'values', 'table', 'show'];

/**
 * Whether text[start, end) is one of READ_KEYWORDS, any case. Compared in place: this runs on every
 * statement of pool.query, where slicing and lower-casing allocated two strings per statement.
 */
function isReadKeyword(text: string, start: number, end: number): boolean {
  const length = end - start;
  for (const keyword of READ_KEYWORDS) {
    if (keyword.length !== length) continue;
    let i = 0;
    while (i < length && (text.charCodeAt(start + i) | 0x20) === keyword.charCodeAt(i)) i++;
    if (i === length) return true;
  }
  return false;
}

const SLASH = 47;
const STAR = 42;
const DASH = 45;

/** Index of the first character after whitespace and SQL comments (`-- …`, nested `/* … *\/`) from `i`. */
export function skipTrivia(text: string, from: number): number {
  let i = from;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 32 || (c >= 9 && c <= 13)) {
      i++;
    } else if (c === DASH && text.charCodeAt(i + 1) === DASH) {
      const end = text.indexOf('\n', i + 2);
      i = end === -1 ? n : end + 1;
    } else if (c === SLASH && text.charCodeAt(i + 1) === STAR) {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (text.charCodeAt(i) === SLASH && text.charCodeAt(i + 1) === STAR) {
          depth++;
          i += 2;
        } else if (text.charCodeAt(i) === STAR && text.charCodeAt(i + 1) === SLASH) {
          depth--;
          i += 2;
        } else i++;
      }
    } else return i;
  }
  return n;
}

/**
 * After comments and whitespace the statement starts with SELECT, WITH, VALUES, TABLE or SHOW, and it is
 * one statement (nothing but trivia after a `;`: several statements in one simple query could commit a
 * `set_config` that turns the read-only default off before a later one runs). A `;` inside a string
 * literal makes a read look like two statements: it then runs read-write, which is only slower.
 */
export function looksLikeRead(text: string): boolean {
  const start = skipTrivia(text, 0);
  let end = start;
  while (end < text.length) {
    const c = text.charCodeAt(end) | 0x20;
    if (c < 97 || c > 122) break;
    end++;
  }
  if (end - start < 4 || end - start > 6) return false;
  if (!isReadKeyword(text, start, end)) return false;
  const semi = text.indexOf(';', end);
  if (semi === -1) return true;
  return skipTrivia(text, semi + 1) === text.length && text.indexOf(';', semi + 1) === -1;
}
