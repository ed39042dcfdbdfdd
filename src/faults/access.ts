// Who may drive the control API and what it may open: the optional bearer token (constant-time compare) and
// the loopback-only rule for the addresses API-created proxies listen on.
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { InvalidOptionError } from '../core/options.js';
import { parseAddress } from './address.js';

/** Loopback by name or address; `127.x.example.com` is a host name, not loopback. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIPv4(host) && host.startsWith('127.'));
}

/** SHA-256 of a token: equal-length digests for a constant-time compare whatever the lengths. */
function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** The `listen` fields a create, update or populate body asks for (the API's own checks word bad ones). */
function listensOf(body: unknown): unknown[] {
  const items = Array.isArray(body) ? body : [body];
  return items.flatMap((item) =>
    typeof item === 'object' && item !== null && 'listen' in item
      ? [(item as { listen: unknown }).listen]
      : [],
  );
}

export class Access {
  private readonly tokenDigest: Buffer | undefined;
  private readonly allowRemoteListen: boolean;

  constructor(options: { token?: string; allowRemoteListen?: boolean }) {
    if (options.token !== undefined && (typeof options.token !== 'string' || options.token === '')) {
      throw new InvalidOptionError('ControlServer', 'token', 'must be a non-empty string', options.token);
    }
    if (options.allowRemoteListen !== undefined && typeof options.allowRemoteListen !== 'boolean') {
      throw new InvalidOptionError(
        'ControlServer',
        'allowRemoteListen',
        'must be a boolean',
        options.allowRemoteListen,
      );
    }
    this.tokenDigest = options.token === undefined ? undefined : digest(options.token);
    this.allowRemoteListen = options.allowRemoteListen === true;
  }

  get tokenRequired(): boolean {
    return this.tokenDigest !== undefined;
  }

  /** Whether an `Authorization` header value lets the request in (always, without a token). */
  authorized(header: string | undefined): boolean {
    if (this.tokenDigest === undefined) return true;
    const match = /^Bearer (.+)$/i.exec(header ?? '');
    return match?.[1] !== undefined && timingSafeEqual(digest(match[1]), this.tokenDigest);
  }

  /** The first `listen` of a body that is off loopback and not allowed; malformed ones are the API's 400. */
  forbiddenListen(body: unknown): string | undefined {
    if (this.allowRemoteListen) return undefined;
    for (const listen of listensOf(body)) {
      let host: string;
      try {
        host = parseAddress(listen, 'listen').host;
      } catch {
        continue;
      }
      if (!isLoopback(host)) return String(listen);
    }
    return undefined;
  }
}
