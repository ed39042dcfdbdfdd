import { brand } from '../../core/brand.js';
import { LifelineError } from '../../core/errors.js';

/** The peer answered no ping (and sent nothing else) within the heartbeat's timeout: it is gone. */
export class HeartbeatTimeoutError extends LifelineError {
  constructor(
    readonly endpoint: string,
    readonly timeoutMs: number,
  ) {
    super(
      'LIFELINE_WS_HEARTBEAT_TIMEOUT',
      `the WebSocket peer ${endpoint} answered no ping and sent nothing for ${timeoutMs} ms (heartbeat.timeoutMs), ` +
        'so the connection was closed as dead (a half-open peer: crashed, unplugged, or a middlebox dropped it). ' +
        'Reconnect; raise heartbeat.timeoutMs if the peer is only slow',
    );
  }
}
brand(HeartbeatTimeoutError, 'HeartbeatTimeoutError');
