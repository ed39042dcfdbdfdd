// HTTP: which statuses and undici errors mean the request was not processed, and Retry-After.
import {
  type Classification,
  classifyLost,
  classifyNetwork,
  connectionLost,
  NOT_SENT,
  REJECTED_FINAL,
  REJECTED_TRANSIENT,
} from '../exec/classify/classification.js';

// undici: the socket broke or closed, or the reply did not come in time, after the request may have left.
const UNDICI_LOST = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * Classifier for HTTP. An operation reports an error status by throwing an error with `statusCode` (or
 * `status`) and optional `headers` (a Headers or a plain record). 502, 503 and 504 mean a gateway or the
 * server did not process the request; 429 and 503 may carry Retry-After, which becomes the least delay.
 */
export function classifyHttp(error: unknown, sent: boolean): Classification {
  const lost = classifyLost(error, sent);
  if (lost !== undefined) return lost;
  if (typeof error === 'object' && error !== null) {
    const { statusCode, status, headers, code } = error as {
      statusCode?: unknown;
      status?: unknown;
      headers?: unknown;
      code?: unknown;
    };
    const value =
      typeof statusCode === 'number' ? statusCode : typeof status === 'number' ? status : undefined;
    if (value !== undefined) {
      if (value === 502 || value === 503 || value === 504 || value === 429) {
        const retryAfterMs = parseRetryAfter(header(headers, 'retry-after'));
        return retryAfterMs === undefined
          ? REJECTED_TRANSIENT
          : { kind: 'rejected', transient: true, retryAfterMs };
      }
      return REJECTED_FINAL;
    }
    // undici: a connect timeout never reached the server.
    if (code === 'UND_ERR_CONNECT_TIMEOUT') return NOT_SENT;
    if (typeof code === 'string' && UNDICI_LOST.has(code)) return connectionLost(sent);
  }
  return classifyNetwork(error, sent);
}

function header(headers: unknown, name: string): string | undefined {
  if (headers === null || typeof headers !== 'object') return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const value = (headers as Record<string, unknown>)[name];
  if (typeof value === 'string') return value;
  return Array.isArray(value) && typeof value[0] === 'string' ? value[0] : undefined;
}

/** Retry-After as milliseconds from now: delta-seconds or an HTTP date; undefined when absent or invalid. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
