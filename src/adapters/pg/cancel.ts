import net from 'node:net';

/** The CancelRequest code: 1234 in the high 16 bits, 5678 in the low (protocol message formats). */
const CANCEL_REQUEST_CODE = 80877102;

export interface CancelTarget {
  host: string;
  port: number;
  processID: number;
  secretKey: number;
}

/**
 * Asks the server to cancel whatever the backend `processID` is running: a new connection to the same
 * host sends the 16-byte CancelRequest (length, code, pid, key) and the server closes it without a reply.
 * Resolves true once the request was written and the server closed, false when it could not be
 * delivered within `timeoutMs`; never rejects, because a failed cancel must not mask the deadline error.
 */
export function sendCancelRequest(target: CancelTarget, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const packet = Buffer.alloc(16);
    packet.writeInt32BE(16, 0);
    packet.writeInt32BE(CANCEL_REQUEST_CODE, 4);
    packet.writeInt32BE(target.processID, 8);
    packet.writeInt32BE(target.secretKey, 12);

    const socket = target.host.startsWith('/')
      ? net.connect({ path: `${target.host}/.s.PGSQL.${target.port}` })
      : net.connect({ host: target.host, port: target.port });
    let written = false;
    const timer = setTimeout(() => finish(false), timeoutMs);
    timer.unref();
    function finish(ok: boolean): void {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    }
    // No half-close after the packet, as libpq: wait for the server to close. PgBouncer 1.18 aborts
    // (FATAL "bad client state") when a cancel client's FIN arrives before it forwarded the request.
    socket.once('connect', () => {
      socket.write(packet, () => {
        written = true;
      });
    });
    socket.on('error', () => finish(written));
    socket.once('close', () => finish(written));
    // The server never answers a CancelRequest; reading keeps the socket flowing until its FIN.
    socket.resume();
  });
}
