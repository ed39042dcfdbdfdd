// MySQL (mysql2, mysql): which errnos and client codes mean "not now" or a lost connection.
import {
  type Classification,
  classifyLost,
  classifyNetwork,
  connectionLost,
  NOT_SENT,
  REJECTED_TRANSIENT,
} from '../exec/classify/classification.js';

// 1205 lock wait timeout and 1213 deadlock: the server rolled the statement back. 1040 too many connections
// and 1053 server shutdown in progress: refused before running anything.
const TRANSIENT = new Set([1205, 1213, 1040, 1053]);
// 2006 server has gone away and 2013 lost connection during query: the connection broke.
const CONNECTION_LOST = new Set([2006, 2013]);

/** Classifier for mysql2 and mysql errors (`errno`, `code`). */
export function classifyMysql(error: unknown, sent: boolean): Classification {
  const lost = classifyLost(error, sent);
  if (lost !== undefined) return lost;
  if (typeof error === 'object' && error !== null) {
    const { errno, code } = error as { errno?: unknown; code?: unknown };
    if (typeof errno === 'number') {
      if (TRANSIENT.has(errno)) return REJECTED_TRANSIENT;
      if (CONNECTION_LOST.has(errno)) return connectionLost(sent);
    }
    if (code === 'PROTOCOL_CONNECTION_LOST' || code === 'PROTOCOL_SEQUENCE_TIMEOUT') {
      return connectionLost(sent);
    }
    // mysql2 refuses to enqueue on a connection that already failed: nothing left this time.
    if (code === 'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR' || code === 'PROTOCOL_ENQUEUE_AFTER_QUIT')
      return NOT_SENT;
    // mysql2 (promise API) on a connection the server already closed: a plain Error with no code, raised
    // before anything is written.
    if (
      error instanceof Error &&
      error.message === "Can't add new command when connection is in closed state"
    )
      return NOT_SENT;
  }
  return classifyNetwork(error, sent);
}
