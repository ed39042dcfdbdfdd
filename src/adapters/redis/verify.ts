import { type VerdictMessage, verifyVerdictChannel } from '../../core/channels.js';
import { LifelineError } from '../../core/errors.js';
import type { LiveSocket, ReplyOverdue } from '../../socket/index.js';

/** One row of `CLIENT LIST ID <id>`: the server's view of one connection. */
export interface ClientRow {
  id: string;
  /** Seconds since the connection's last interaction. */
  idle: number;
  /** `b` blocked (BLPOP, XREAD BLOCK, WAIT…), `x` inside MULTI, … */
  flags: string;
  /** Bytes received and not yet processed. */
  qbuf: number;
  /** Reply bytes not yet written to the socket (buffer and list). */
  pendingOutput: number;
  /** The last command the server ran for it. */
  cmd: string;
}

/** Parses one `CLIENT LIST` line (`id=7 addr=… idle=0 flags=N … cmd=get …`); undefined when empty. */
export function parseClientRow(text: string): ClientRow | undefined {
  const line = text.split('\n').find((l) => l.startsWith('id='));
  if (line === undefined) return undefined;
  const fields = new Map<string, string>();
  for (const pair of line.trim().split(' ')) {
    const at = pair.indexOf('=');
    if (at > 0) fields.set(pair.slice(0, at), pair.slice(at + 1));
  }
  const number = (name: string) => Number(fields.get(name) ?? 0) || 0;
  return {
    id: fields.get('id') ?? '',
    idle: number('idle'),
    flags: fields.get('flags') ?? '',
    qbuf: number('qbuf'),
    pendingOutput: number('obl') + number('oll'),
    cmd: fields.get('cmd') ?? '',
  };
}

export type Verdict = { lost: true; reason: string } | { lost: false; reason: string };

/**
 * Whether a silent reply is lost, from the server's own view of the connection. Lost: the server does not
 * know the connection, or knows it with nothing left to do for it (not blocked, no unread input, no unsent
 * output) — whatever it was sent was answered or never arrived. Not lost: the command is blocking by design
 * (flag `b`), input is still being processed, or output is still on its way.
 */
export function judge(row: ClientRow | undefined): Verdict {
  if (row === undefined) return { lost: true, reason: 'the server no longer knows this connection' };
  if (row.flags.includes('b')) return { lost: false, reason: 'blocked by a blocking command' };
  if (row.qbuf > 0) return { lost: false, reason: 'the server is still reading its input' };
  if (row.pendingOutput > 0) return { lost: false, reason: 'the reply is still on its way' };
  return {
    lost: true,
    reason: `the server has nothing in progress for this connection (idle ${row.idle} s, last command ${row.cmd || 'none'})`,
  };
}

/** The server has nothing in progress for a connection whose reply is overdue: the reply or request was lost. */
export class RedisReplyLostError extends LifelineError {
  constructor(endpoint: string, silentMs: number, reason: string) {
    super(
      'LIFELINE_REDIS_REPLY_LOST',
      `no reply from ${endpoint} for ${silentMs} ms, and asked on another connection (CLIENT LIST ID), ` +
        `${reason}: the connection was closed. Something between client and server swallows bytes ` +
        "(a proxy, a NAT, a firewall); commands in flight are handled as on any lost connection. Raise 'replyOverdueMs' if replies are legitimately slow",
    );
  }
}

/**
 * A reply is overdue on a connection whose server id (CLIENT ID) never arrived: the server cannot be asked
 * about it, and the silence means the handshake's or CLIENT ID's reply was itself lost (CLIENT ID is sent
 * first after the handshake, so nothing blocking is ahead of it). The connection is closed.
 */
export class RedisReplyUnverifiableError extends LifelineError {
  constructor(endpoint: string, silentMs: number) {
    super(
      'LIFELINE_REDIS_REPLY_UNVERIFIABLE',
      `no reply from ${endpoint} for ${silentMs} ms on a connection whose server id (CLIENT ID) never arrived, ` +
        'so the server cannot be asked about it: the connection was closed. Something between client and server ' +
        "swallows bytes (a proxy, a NAT, a firewall); commands in flight are handled as on any lost connection. Raise 'replyOverdueMs' if replies are legitimately slow",
    );
  }
}

/** Asks the server about connection `id`: the raw `CLIENT LIST ID <id>` reply, or a rejection (no verdict). */
export type AskServer = (id: string) => Promise<string>;

/**
 * Plugs a lost-reply verifier into LiveSocket's "reply overdue" hook: while a reply is overdue, the server
 * is asked about the connection on another one, at most once at a time; a "lost" verdict destroys the
 * connection. No verdict (the side connection fails too) changes nothing: keepalive and TCP_USER_TIMEOUT
 * still watch the network. `id()` gives the server's id for the connection (CLIENT ID), `skip()` true while
 * silence is normal (a subscriber connection) or the server refused CLIENT ID. A reply overdue while the id
 * is still unknown cannot be verified: the connection is closed (RedisReplyUnverifiableError), so no command
 * waits behind a lost handshake or CLIENT ID reply without bound.
 */
export function verifyOverdueReplies(
  live: LiveSocket,
  overdueMs: number,
  ask: AskServer,
  id: () => string | undefined,
  skip: () => boolean,
): () => void {
  let asking = false;
  return live.watchReplies(overdueMs, (overdue: ReplyOverdue) => {
    if (skip()) return overdueMs;
    const clientId = id();
    if (clientId === undefined) {
      if (!live.usable) return overdueMs;
      publishVerdict(live.endpoint, 'lost');
      live.destroy(new RedisReplyUnverifiableError(live.endpoint, overdue.silentMs), 'read-timeout');
      return overdueMs;
    }
    if (asking) return overdueMs;
    asking = true;
    const readBefore = live.bytesRead;
    ask(clientId)
      .then((text) => {
        const verdict = judge(parseClientRow(text));
        // Bytes that arrived meanwhile were a reply on its way (written before the server was asked).
        const lost = verdict.lost && live.usable && live.bytesRead === readBefore;
        publishVerdict(live.endpoint, lost ? 'lost' : 'running');
        if (lost) {
          live.destroy(
            new RedisReplyLostError(live.endpoint, overdue.silentMs, verdict.reason),
            'read-timeout',
          );
        }
      })
      .catch(() => publishVerdict(live.endpoint, 'unreachable'))
      .finally(() => {
        asking = false;
      });
    return overdueMs;
  });
}

/** lifeline-net/observe's verification counter (`lifeline:verify:verdict`). */
function publishVerdict(endpoint: string, verdict: VerdictMessage['verdict']): void {
  if (verifyVerdictChannel.hasSubscribers)
    verifyVerdictChannel.publish({ protocol: 'redis', endpoint, verdict });
}
