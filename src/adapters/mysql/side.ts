// The side channel: a short-lived separate connection that asks the server about one of the pool's
// sessions (information_schema.processlist) or ends its running statement (KILL QUERY).
import type { RawConnection } from './connection.js';

export type SideFactory = () => RawConnection;

/** How long one side-channel round (connect, one statement, quit) may take before it is given up. */
const SIDE_TIMEOUT_MS = 5000;

/** Runs `sql` on a fresh connection from `make`; resolves with its rows, rejects on any failure or after 5 s. */
export function sideQuery(make: SideFactory, sql: string, values: unknown[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const conn = make();
    const timer = setTimeout(() => {
      // destroy() only half-closes: a peer that swallows everything would keep the socket.
      conn.destroy();
      conn.stream.destroy();
      reject(new Error(`side connection gave no answer within ${SIDE_TIMEOUT_MS} ms`));
    }, SIDE_TIMEOUT_MS).unref();
    conn.on('error', () => {});
    conn.query(sql, values, (err, rows) => {
      clearTimeout(timer);
      (conn as unknown as { end(cb: () => void): void }).end(() => conn.destroy());
      if (err) reject(err);
      else resolve(rows);
    });
  });
}

/** Ends the statement session `threadId` is running (the session stays open). Resolves true when done. */
export async function killQuery(make: SideFactory, threadId: number): Promise<boolean> {
  try {
    await sideQuery(make, `KILL QUERY ${threadId | 0}`, []);
    return true;
  } catch (error) {
    // 1094: unknown thread: the session is gone already, so is its statement.
    return (error as { errno?: number }).errno === 1094;
  }
}

/** What the server says of one session: gone, idle for `idleMs`, or busy. */
export type SessionView = { kind: 'gone' } | { kind: 'idle'; idleMs: number } | { kind: 'busy' };

/** Reads the session's row of information_schema.processlist (TIME_MS on MariaDB, TIME in s on MySQL). */
export async function viewSession(make: SideFactory, threadId: number): Promise<SessionView> {
  const rows = (await sideQuery(make, 'SELECT * FROM information_schema.processlist WHERE ID = ?', [
    threadId,
  ])) as Array<Record<string, unknown>>;
  const row = rows[0];
  if (row === undefined) return { kind: 'gone' };
  const command = String(row.COMMAND ?? row.command ?? '');
  if (command !== 'Sleep') return { kind: 'busy' };
  const ms = row.TIME_MS ?? row.time_ms;
  const idleMs = ms !== undefined && ms !== null ? Number(ms) : Number(row.TIME ?? row.time ?? 0) * 1000;
  return { kind: 'idle', idleMs };
}
