// Safe reads for MySQL/MariaDB: which statements run in a read-only session, and the statements that
// switch the session.
import { looksLikeRead } from '../../protocols/sql-reads.js';

/**
 * A statement that looks like a read (protocols/sql-reads.ts) and does not write a file (`INTO OUTFILE`,
 * `INTO DUMPFILE`: the read-only session does not stop those). The server's read-only session is the proof:
 * a write taken for a read fails with 1792 before changing anything, and is run again read-write.
 */
export function looksLikeMysqlRead(text: string): boolean {
  return looksLikeRead(text) && !INTO_FILE.test(text);
}
const INTO_FILE = /\binto\s+(outfile|dumpfile)\b/i;

export const SET_READ_ONLY = 'SET SESSION TRANSACTION READ ONLY';
export const SET_READ_WRITE = 'SET SESSION TRANSACTION READ WRITE';

/** Cannot execute statement in a READ ONLY transaction. */
export const ER_READ_ONLY_TRANSACTION = 1792;
/** The server runs with --read-only (1290: option prevents statement) or is in read-only mode (1836). */
export const READ_ONLY_HOST = new Set([1290, 1836]);
