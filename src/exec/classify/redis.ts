import { type Classification, classifyNetwork, REJECTED_TRANSIENT } from './classification.js';

/**
 * Classifier for Redis clients (ioredis, node-redis): LOADING (dataset loading after a restart), TRYAGAIN
 * (cluster resharding) and BUSY (a script is running) are answers that say "not now", nothing was applied.
 */
export function classifyRedis(error: unknown, sent: boolean): Classification {
  const message = error instanceof Error ? error.message : '';
  if (/^(LOADING|TRYAGAIN|BUSY)\b/.test(message)) return REJECTED_TRANSIENT;
  return classifyNetwork(error, sent);
}
