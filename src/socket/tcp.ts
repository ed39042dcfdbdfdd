import { createRequire } from 'node:module';
import type * as net from 'node:net';
import type { ResolvedOptions } from './options.js';

/**
 * Kernel TCP settings Node does not expose (TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT, TCP_INFO),
 * through the optional npm package net-keepalive and the ffi-rs it brings. Loaded lazily, once; when it
 * cannot load, capabilities() says so and keepalive falls back to Node's own setKeepAlive.
 */

/** What really took effect on a socket, read back from the kernel where possible. */
export interface SocketCapabilities {
  /** 'native': idle, interval and count set; 'node': only Node's setKeepAlive (idle); 'off': disabled. */
  keepalive: 'native' | 'node' | 'off';
  keepaliveIdleMs: number | undefined;
  /** undefined when unknown (the OS or libuv default applies). */
  keepaliveIntervalMs: number | undefined;
  keepaliveCount: number | undefined;
  userTimeout: 'native' | 'unavailable' | 'off';
  userTimeoutMs: number | undefined;
  /** Why something did not take effect as configured; empty when everything did. */
  reasons: string[];
}

interface NetKeepalive {
  setKeepAliveInterval(socket: net.Socket, ms: number): boolean;
  getKeepAliveInterval(socket: net.Socket): number;
  setKeepAliveProbes(socket: net.Socket, count: number): boolean;
  getKeepAliveProbes(socket: net.Socket): number;
  setUserTimeout(socket: net.Socket, ms: number): boolean;
  getUserTimeout(socket: net.Socket): number;
}

interface FfiRs {
  open(options: { library: string; path: string }): void;
  load(options: {
    library: string;
    funcName: string;
    retType: unknown;
    paramsType: unknown[];
    paramsValue: unknown[];
  }): unknown;
  createPointer(options: { paramsType: unknown[]; paramsValue: unknown[] }): unknown[];
  restorePointer(options: { retType: unknown[]; paramsValue: unknown[] }): unknown[];
  DataType: { I32: unknown; External: unknown };
}

interface Native {
  keepalive: NetKeepalive;
  ffi: FfiRs | undefined;
}

let native: Native | string | undefined;

/** The native helper, or the reason it cannot load. */
function loadNative(): Native | string {
  if (native !== undefined) return native;
  try {
    const require = createRequire(import.meta.url);
    const keepalive = require('net-keepalive') as NetKeepalive;
    let ffi: FfiRs | undefined;
    try {
      // TCP_INFO is read with the ffi-rs net-keepalive itself uses, resolved from its location.
      ffi = createRequire(require.resolve('net-keepalive'))('ffi-rs') as FfiRs;
      ffi.open({ library: LIBRARY, path: '' });
    } catch {
      ffi = undefined;
    }
    native = { keepalive, ffi };
  } catch (error) {
    native = `net-keepalive could not load (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`;
  }
  return native;
}

const LIBRARY = 'lifeline-libc';
const IPPROTO_TCP = 6;
const TCP_INFO = 11;

function fdOf(socket: net.Socket): number | undefined {
  const handle: unknown = Reflect.get(socket, '_handle');
  const fd: unknown = handle === null || typeof handle !== 'object' ? undefined : Reflect.get(handle, 'fd');
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Capabilities before anything took effect, with the reasons why. */
export function nothingApplied(...reasons: string[]): SocketCapabilities {
  return {
    keepalive: 'off',
    keepaliveIdleMs: undefined,
    keepaliveIntervalMs: undefined,
    keepaliveCount: undefined,
    userTimeout: 'off',
    userTimeoutMs: undefined,
    reasons,
  };
}

/**
 * Turns keepalive and TCP_USER_TIMEOUT on for an open socket and reports what took effect. Must run after
 * connect: before it, Node defers setKeepAlive and there is no file descriptor.
 */
export function applyTcpOptions(socket: net.Socket, options: ResolvedOptions): SocketCapabilities {
  const caps = nothingApplied();
  const helper = loadNative();
  const nativeHelper = typeof helper === 'string' ? undefined : helper.keepalive;
  const hasFd = fdOf(socket) !== undefined;
  const why = typeof helper === 'string' ? helper : hasFd ? '' : 'the socket has no file descriptor';

  if (options.keepaliveIdleMs > 0) {
    // Node's delay is whole seconds; our validation guarantees ≥ 1000 ms, so never the 2-hour default.
    socket.setKeepAlive(true, options.keepaliveIdleMs);
    caps.keepalive = 'node';
    caps.keepaliveIdleMs = options.keepaliveIdleMs;
    if (nativeHelper && hasFd) {
      try {
        // After setKeepAlive: libuv resets interval and count when it enables keepalive.
        nativeHelper.setKeepAliveInterval(socket, options.keepaliveIntervalMs);
        nativeHelper.setKeepAliveProbes(socket, options.keepaliveCount);
        caps.keepalive = 'native';
        caps.keepaliveIntervalMs = nativeHelper.getKeepAliveInterval(socket);
        caps.keepaliveCount = nativeHelper.getKeepAliveProbes(socket);
      } catch (error) {
        caps.reasons.push(`keepalive interval/count not set: ${message(error)}; the OS defaults apply`);
      }
    } else {
      caps.reasons.push(`keepalive interval/count not set: ${why}; the OS (or libuv) defaults apply`);
    }
  } else {
    socket.setKeepAlive(false);
  }

  if (options.userTimeoutMs > 0) {
    if (nativeHelper && hasFd) {
      try {
        nativeHelper.setUserTimeout(socket, options.userTimeoutMs);
        caps.userTimeout = 'native';
        caps.userTimeoutMs = nativeHelper.getUserTimeout(socket);
      } catch (error) {
        caps.userTimeout = 'unavailable';
        caps.reasons.push(`TCP_USER_TIMEOUT not set: ${message(error)}`);
      }
    } else {
      caps.userTimeout = 'unavailable';
      caps.reasons.push(
        `TCP_USER_TIMEOUT not set: ${why}; unacknowledged data times out after the kernel's retries`,
      );
    }
  }
  return caps;
}

/** What the kernel was doing when a connection died of ETIMEDOUT, from TCP_INFO. */
export type TimeoutKind = 'retransmission' | 'keepalive';

/**
 * Reads tcpi_retransmits and tcpi_probes (bytes 2 and 3 of struct tcp_info) while the descriptor is still
 * open. Keepalive and TCP_USER_TIMEOUT deaths both surface as ETIMEDOUT; this tells them apart: data
 * outstanding means retransmissions, an idle connection means keepalive probes. undefined when unknown.
 */
export function timeoutKind(socket: net.Socket): TimeoutKind | undefined {
  const helper = loadNative();
  const fd = fdOf(socket);
  if (typeof helper === 'string' || helper.ffi === undefined || fd === undefined) return undefined;
  const { ffi } = helper;
  try {
    const [value] = ffi.createPointer({ paramsType: [ffi.DataType.I32], paramsValue: [0] });
    const [length] = ffi.createPointer({ paramsType: [ffi.DataType.I32], paramsValue: [4] });
    const result = ffi.load({
      library: LIBRARY,
      funcName: 'getsockopt',
      retType: ffi.DataType.I32,
      paramsType: [
        ffi.DataType.I32,
        ffi.DataType.I32,
        ffi.DataType.I32,
        ffi.DataType.External,
        ffi.DataType.External,
      ],
      paramsValue: [fd, IPPROTO_TCP, TCP_INFO, value, length],
    });
    if (result !== 0) return undefined;
    const [info] = ffi.restorePointer({ retType: [ffi.DataType.I32], paramsValue: [value] });
    if (typeof info !== 'number') return undefined;
    const retransmits = (info >>> 16) & 0xff;
    const probes = (info >>> 24) & 0xff;
    if (retransmits > 0) return 'retransmission';
    if (probes > 0) return 'keepalive';
    return undefined;
  } catch {
    return undefined;
  }
}

/** Whether timeoutKind() can ask the kernel (ffi-rs loaded); otherwise LiveSocket tracks writes itself. */
export function canReadTcpInfo(): boolean {
  const helper = loadNative();
  return typeof helper !== 'string' && helper.ffi !== undefined;
}

/** Describes the native helper's availability without touching a socket, for reports and docs. */
export function nativeHelperStatus(): string | undefined {
  const helper = loadNative();
  return typeof helper === 'string' ? helper : undefined;
}
