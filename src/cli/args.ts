// What every `lifeline` command shares about its arguments: the usage error (exit 2) and how it is
// printed, port and host:port checks that say which option was wrong, and the version.

import { parseAddress } from '../faults/address.js';
import { packageVersion } from '../faults/version.js';

/** Bad usage: the command prints the message and one line of usage, and exits 2. */
export class UsageError extends Error {}

/**
 * What a usage error prints: the error, then one line of usage naming the help. Not the whole help: that
 * would push the error off the screen.
 */
export function usageFailure(command: string, message: string, synopsis: string): string {
  return `${command}: ${message}\n${synopsis} (\`${command} --help\` for more)`;
}

/**
 * node:util parseArgs's complaint as a usage error, in its first sentence only: its advice about `--` for
 * positionals that start with a dash is about its own syntax, not the command's.
 */
export function argsError(error: unknown): UsageError {
  const message = error instanceof Error ? error.message : String(error);
  const first = /^.*?[.](?=\s|$)/.exec(message)?.[0] ?? message;
  return new UsageError(first.replace(/^Unknown option/, 'unknown option').replace(/[.]$/, ''));
}

/** The package a module could not find, if that is why it failed to load (ESM or CJS build). */
export function missingPackage(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return undefined;
  const match = /Cannot find (?:package|module) '((?:@[^/']+\/)?[^/'.][^/']*)/.exec((error as Error).message);
  return match?.[1];
}

/** `lifeline-net 1.2.3`, for every command's --version. */
export function versionLine(): string {
  return `lifeline (lifeline-net) ${packageVersion()}`;
}

/** A TCP port given as option `option`: a whole number from `min` (0: any free port) to 65535. */
export function parsePort(text: string, option: string, min: 0 | 1 = 1): number {
  const port = /^\d{1,5}$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!(port >= min && port <= 65535)) {
    throw new UsageError(`${option} must be a port number from ${min} to 65535, got "${text}"`);
  }
  return port;
}

/** `host:port`, `[v6]:port` or `:port`, as the control API reads it, given as option `option`. */
export function parseHostPort(text: string, option: string): string {
  try {
    parseAddress(text, option);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return text;
}
