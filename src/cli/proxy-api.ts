// The control API as `lifeline proxy`'s client commands reach it: the --api URL checked, every request
// bounded in time, and a request that gets no answer reported as unreachable, with what to do.
import { UsageError } from './args.js';

/** How long a client command waits for the control API before calling it unreachable. */
const API_TIMEOUT_MS = 10_000;

/** The API answered with an error body. */
export class RefusedError extends Error {}

export class UnreachableError extends Error {}

/** The bearer token sent with the requests to each API base (--token or $LIFELINE_PROXY_TOKEN). */
const tokens = new WeakMap<URL, string>();

/** The --api value as a base URL: http(s), a host, a port in range; a usage error otherwise. */
export function apiBase(text: string, token?: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || !/^https?:$/.test(url.protocol) || url.hostname === '') {
    throw new UsageError(
      `--api must be the control API's URL, such as http://127.0.0.1:8474 (port 1 to 65535), got "${text}"`,
    );
  }
  if (url.port === '0') throw new UsageError(`--api must have a port from 1 to 65535, got "${text}"`);
  if (token !== undefined && token !== '') tokens.set(url, token);
  return url;
}

/** Why a request never got an answer, in words. */
function unreachableReason(error: unknown): string {
  if ((error as { name?: unknown }).name === 'TimeoutError')
    return `no answer within ${API_TIMEOUT_MS / 1000} s`;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code;
  if (code === 'ECONNREFUSED') return 'ECONNREFUSED: nothing is listening there';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'no such host';
  return code ?? cause?.message ?? (error as Error).message;
}

export async function api(base: URL, method: string, path: string, body?: unknown): Promise<unknown> {
  let response: Response;
  const token = tokens.get(base);
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  try {
    response = await fetch(new URL(path, base), {
      method,
      signal: AbortSignal.timeout(API_TIMEOUT_MS),
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    // fetch will not connect to ports browsers block (1, 6000, ...): the address is the problem, not the API.
    const cause = (error as { cause?: { message?: string } }).cause;
    if (cause?.message === 'bad port') {
      throw new UsageError(
        `--api ${base.origin}: fetch refuses to connect to port ${base.port} (a port browsers block); run the API on another port, such as 8474`,
      );
    }
    throw new UnreachableError(
      `the control API at ${base.origin} is unreachable (${unreachableReason(error)}). ` +
        'Start one with `lifeline proxy serve`, or point --api (or $LIFELINE_PROXY_URL) at a running one',
    );
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = text;
  }
  if (!response.ok) {
    const message = (parsed as { error?: string } | undefined)?.error ?? text;
    throw new RefusedError(`${response.status}: ${message}`);
  }
  return parsed;
}
