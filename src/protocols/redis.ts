// Redis (ioredis, node-redis): which replies mean "not now", and the clients' connection-loss errors.
import {
  type Classification,
  classifyLost,
  classifyNetwork,
  connectionLost,
  NOT_SENT,
  REJECTED_TRANSIENT,
} from '../exec/classify/classification.js';

/**
 * Classifier for Redis clients (ioredis, node-redis): LOADING (dataset loading after a restart), TRYAGAIN
 * (cluster resharding) and BUSY (a script is running) are answers that say "not now", nothing was applied.
 * Connection loss is read from ioredis's messages as well as from socket error codes.
 */
export function classifyRedis(error: unknown, sent: boolean): Classification {
  const lost = classifyLost(error, sent);
  if (lost !== undefined) return lost;
  const message = error instanceof Error ? error.message : '';
  if (/^(LOADING|TRYAGAIN|BUSY)\b/.test(message)) return REJECTED_TRANSIENT;
  // ioredis's own connection-loss errors carry no code. "Stream isn't writeable…" is raised before the
  // command is written (disconnected, offline queue off); "Connection is closed." and
  // MaxRetriesPerRequestError fail commands pending on a connection that closed, sent or not.
  if (message.startsWith("Stream isn't writeable")) return NOT_SENT;
  if (
    message === 'Connection is closed.' ||
    (error instanceof Error && error.name === 'MaxRetriesPerRequestError')
  )
    return connectionLost(sent);
  return classifyNetwork(error, sent);
}
