// LiveSocket's errors: one class per way a connection dies, each marked as a lost connection (core/lost.ts).
import { brand } from '../core/brand.js';
import { LifelineError } from '../core/errors.js';
import { markLost } from '../core/lost.js';
import type { Death, LiveState } from './state.js';

/**
 * One class per way a connection dies, and last one for a TLS upgrade LiveSocket cannot follow. Each names
 * the peer (`endpoint`, e.g. `10.0.0.5:5432`) so a log line alone says which connection it was, and says what
 * to do next.
 */

interface Cause {
  cause?: unknown;
}

/** The peer sent FIN: it will send nothing more, so a reply to a request sent on it will never come. */
export class PeerClosedError extends LifelineError {
  constructor(endpoint: string, options?: Cause) {
    super(
      'LIFELINE_PEER_CLOSED',
      `the peer ${endpoint} closed the connection (FIN received), so a request sent on it may or may not have ` +
        'been processed; discard it and use a new connection',
      options,
    );
  }
}
brand(PeerClosedError, 'PeerClosedError');
markLost(PeerClosedError.prototype, 'if-marked');

/** The peer reset the connection (RST, or EPIPE/ECONNABORTED on write). */
export class ConnectionResetError extends LifelineError {
  constructor(endpoint: string, options?: Cause) {
    super(
      'LIFELINE_CONNECTION_RESET',
      `the connection to ${endpoint} was reset by the peer, so a request sent on it may or may not have been ` +
        'processed; discard it and use a new connection',
      options,
    );
  }
}
brand(ConnectionResetError, 'ConnectionResetError');
markLost(ConnectionResetError.prototype, 'if-marked');

/** Bytes sat in the send queue without any progress for `writeStallMs`: the peer stopped reading. */
export class WriteStallError extends LifelineError {
  readonly queuedBytes: number;

  constructor(endpoint: string, writeStallMs: number, queuedBytes: number) {
    super(
      'LIFELINE_WRITE_STALL',
      `writing to ${endpoint} made no progress for ${writeStallMs} ms with ${queuedBytes} bytes queued: ` +
        'the peer stopped reading (overloaded or hung), so the connection was destroyed; use a new connection, ' +
        'and raise writeStallMs if the peer is legitimately that slow',
    );
    this.queuedBytes = queuedBytes;
  }
}
brand(WriteStallError, 'WriteStallError');
markLost(WriteStallError.prototype, 'if-marked');

/** A reply was awaited (`expectReply`) and nothing arrived for `readTimeoutMs`. */
export class ReadTimeoutError extends LifelineError {
  constructor(endpoint: string, timeoutMs: number) {
    super(
      'LIFELINE_READ_TIMEOUT',
      `no reply from ${endpoint} for ${timeoutMs} ms while one was awaited, so the connection was destroyed ` +
        'and the request may or may not have been processed; use a new connection, and raise readTimeoutMs ' +
        'for slow operations',
    );
  }
}
brand(ReadTimeoutError, 'ReadTimeoutError');
markLost(ReadTimeoutError.prototype, 'if-marked');

/** Keepalive probes went unanswered: the peer vanished while the connection was idle. */
export class KeepaliveTimeoutError extends LifelineError {
  constructor(endpoint: string, setting: string, options?: Cause) {
    super(
      'LIFELINE_KEEPALIVE_TIMEOUT',
      `the peer ${endpoint} stopped answering TCP keepalive probes (${setting}): it is unreachable or gone; ` +
        'use a new connection',
      options,
    );
  }
}
brand(KeepaliveTimeoutError, 'KeepaliveTimeoutError');
markLost(KeepaliveTimeoutError.prototype, 'if-marked');

/** Sent data stayed unacknowledged past TCP_USER_TIMEOUT (or the kernel's retransmission limit). */
export class UserTimeoutError extends LifelineError {
  constructor(endpoint: string, setting: string, options?: Cause) {
    super(
      'LIFELINE_USER_TIMEOUT',
      `data sent to ${endpoint} stayed unacknowledged past ${setting}: the peer is unreachable or gone, and a ` +
        'request in flight may or may not have been processed; use a new connection',
      options,
    );
  }
}
brand(UserTimeoutError, 'UserTimeoutError');
markLost(UserTimeoutError.prototype, 'if-marked');

/** Bytes arrived while no reply was awaited, on a connection whose idleData policy is 'reject'. */
export class UnexpectedDataError extends LifelineError {
  readonly bytes: number;

  constructor(endpoint: string, bytes: number) {
    super(
      'LIFELINE_UNEXPECTED_DATA',
      `${bytes} bytes arrived from ${endpoint} while no reply was awaited; on a request/response protocol ` +
        'that means the stream is out of step (a late reply or a server notice), so the connection was retired; ' +
        "use idleData: 'allow' for push protocols, and call expectReply() before a server greeting",
    );
    this.bytes = bytes;
  }
}
brand(UnexpectedDataError, 'UnexpectedDataError');
markLost(UnexpectedDataError.prototype, 'if-marked');

/** The connection could not be opened (refused, unreachable, DNS, TLS handshake, or connect timeout). */
export class ConnectFailedError extends LifelineError {
  constructor(endpoint: string, detail: string, options?: Cause) {
    super(
      'LIFELINE_CONNECT_FAILED',
      `could not connect to ${endpoint}: ${detail}; check that the server is up and reachable (connecting ` +
        'is safe to retry)',
      options,
    );
  }
}
brand(ConnectFailedError, 'ConnectFailedError');
markLost(ConnectFailedError.prototype, 'not-sent');

/** The connection was closed on this side (close(), destroy(), or its owner) or by an unclassified error. */
export class SocketClosedError extends LifelineError {
  constructor(endpoint: string, detail: string, options?: Cause) {
    super(
      'LIFELINE_SOCKET_CLOSED',
      `the connection to ${endpoint} is closed: ${detail}; use a new connection`,
      options,
    );
  }
}
brand(SocketClosedError, 'SocketClosedError');
markLost(SocketClosedError.prototype, 'if-marked');

/**
 * `upgradedTo()` was called on a connection it cannot move: one already dead (its death says why), or one
 * still connecting (a TLS upgrade follows a plaintext exchange, so the socket is open by then).
 */
export class UpgradeRefusedError extends LifelineError {
  readonly state: LiveState;
  readonly death: Death | undefined;

  constructor(endpoint: string, state: LiveState, death: Death | undefined) {
    const why =
      death === undefined
        ? 'it is still connecting; call upgradedTo() once it is open'
        : `it is already dead (${death.cause}), so no handshake can succeed on it; use a new connection`;
    super(
      'LIFELINE_UPGRADE_REFUSED',
      `cannot follow the TLS upgrade of the connection to ${endpoint}: ${why}`,
      {
        cause: death?.error,
      },
    );
    this.state = state;
    this.death = death;
  }
}
brand(UpgradeRefusedError, 'UpgradeRefusedError');
