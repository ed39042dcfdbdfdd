// Toxiproxy's listen/upstream address form (`host:port`, `[v6]:port`, `:port`), parsed and checked.
import { describe } from '../core/options.js';
import { InvalidProxyError } from './errors.js';

export interface HostPort {
  host: string;
  port: number;
}

/**
 * Parses Toxiproxy's address form: `host:port`, `[v6]:port`, or `:port` (all interfaces, as Go's
 * net.Listen reads it). `what` names the field in the error message.
 */
export function parseAddress(text: unknown, what: string): HostPort {
  if (typeof text !== 'string' || text.length === 0) {
    throw new InvalidProxyError(
      `${what} must be a "host:port" string, got ${describe(text)}`,
      `set ${what} to "host:port", "[v6]:port" or ":port"`,
    );
  }
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || !(port >= 0 && port <= 65535)) {
    throw new InvalidProxyError(
      `${what} must be "host:port" with a port from 0 to 65535, got ${describe(text)}`,
      `set ${what} to "host:port", "[v6]:port" or ":port" with such a port`,
    );
  }
  const host = match[1] ?? match[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

export function formatAddress({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
