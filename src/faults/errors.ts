import { brand } from '../core/brand.js';
import { LifelineError, redact } from '../core/errors.js';

/** A proxy with this name is already registered (HTTP 409). */
export class ProxyExistsError extends LifelineError {
  constructor(name: string) {
    super(
      'LIFELINE_PROXY_EXISTS',
      `proxy already exists: ${name}; choose another name, or delete that proxy first`,
    );
  }
}
brand(ProxyExistsError, 'ProxyExistsError');

/** No proxy with this name (HTTP 404). */
export class ProxyNotFoundError extends LifelineError {
  constructor(name: string) {
    super(
      'LIFELINE_PROXY_NOT_FOUND',
      `proxy not found: ${name}; create it first, or check the name against the proxies there are`,
    );
  }
}
brand(ProxyNotFoundError, 'ProxyNotFoundError');

/**
 * The proxy's listen or upstream address, or its name, is not usable (HTTP 400). `message` is lifeline's
 * (what is wrong; what to do); `apiMessage` is the first part alone, worded as Toxiproxy words it where
 * Toxiproxy has a wording ("missing required field: upstream"), which is what the Toxiproxy-compatible HTTP
 * API puts in its JSON body's `error` field, so Toxiproxy clients see the text they expect.
 */
export class InvalidProxyError extends LifelineError {
  /** What is wrong, without the advice: the HTTP API's `{"error": …}` text. */
  readonly apiMessage: string;

  constructor(problem: string, whatToDo: string, options?: { cause?: unknown }) {
    super('LIFELINE_INVALID_PROXY', `${problem}; ${whatToDo}`, options);
    this.apiMessage = redact(problem);
  }
}
brand(InvalidProxyError, 'InvalidProxyError');

/** A toxic with this name already exists on the proxy (HTTP 409). */
export class ToxicExistsError extends LifelineError {
  constructor(proxy: string, name: string) {
    super(
      'LIFELINE_TOXIC_EXISTS',
      `toxic already exists: ${name} on proxy ${proxy}; choose another name, or update or remove that toxic`,
    );
  }
}
brand(ToxicExistsError, 'ToxicExistsError');

/** No toxic with this name on the proxy (HTTP 404). */
export class ToxicNotFoundError extends LifelineError {
  constructor(proxy: string, name: string) {
    super(
      'LIFELINE_TOXIC_NOT_FOUND',
      `toxic not found: ${name} on proxy ${proxy}; add it first, or check the name against the proxy's toxics`,
    );
  }
}
brand(ToxicNotFoundError, 'ToxicNotFoundError');

/**
 * Unknown type, bad stream, toxicity, target or attribute; the message names the field and its range, then
 * what to do (HTTP 400). As for {@link InvalidProxyError}, `apiMessage` is the first part alone, the HTTP API's
 * JSON `error` text ("stream was invalid, can be either upstream or downstream", as Toxiproxy answers).
 */
export class InvalidToxicError extends LifelineError {
  /** What is wrong, without the advice: the HTTP API's `{"error": …}` text. */
  readonly apiMessage: string;

  constructor(problem: string, whatToDo: string, options?: { cause?: unknown }) {
    super('LIFELINE_INVALID_TOXIC', `${problem}; ${whatToDo}`, options);
    this.apiMessage = redact(problem);
  }
}
brand(InvalidToxicError, 'InvalidToxicError');

/** The listen address is taken by another process or proxy (HTTP 409). */
export class AddressInUseError extends LifelineError {
  constructor(address: string, options?: { cause?: unknown }) {
    super(
      'LIFELINE_ADDRESS_IN_USE',
      `listen address already in use: ${address}; stop what listens there, or choose another address (port 0 picks a free one)`,
      options,
    );
  }
}
brand(AddressInUseError, 'AddressInUseError');
