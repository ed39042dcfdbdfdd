/** One line of the peer set's log. */
export interface IncidentLine {
  readonly kind: 'failing' | 'recovered';
  /** The peer's key. */
  readonly peer: string;
  /** What failed: an error code, `slow`, or `down:<cause>`. */
  readonly cause: string;
  /** Failures counted so far (for `recovered`: in the whole incident). */
  readonly count: number;
  /** `Date.now()` of the first and the latest failure. */
  readonly firstAt: number;
  readonly lastAt: number;
  /** The line as text, ready for a logger. */
  readonly message: string;
}

/** Receives each line; apps pass their own logger's method. */
export type PeerLogger = (line: IncidentLine) => void;

interface Incident {
  readonly peer: string;
  readonly cause: string;
  count: number;
  readonly firstAt: number;
  lastAt: number;
  logged: boolean;
  timer: NodeJS.Timeout | undefined;
}

function clockText(at: number): string {
  return new Date(at).toISOString().slice(11, 23);
}

/**
 * Collapses bursts: the failures of one peer with one cause are one incident. Its first line is written
 * `windowMs` after the first failure (with the count and time range so far), later failures are only
 * counted, and the peer's recovery writes one `recovered` line with the total.
 */
export class IncidentLog {
  private readonly open = new Map<string, Incident>();

  constructor(
    private readonly logger: PeerLogger,
    private readonly windowMs: number,
  ) {}

  /** True while the peer has an open incident. */
  has(peer: string): boolean {
    for (const incident of this.open.values()) if (incident.peer === peer) return true;
    return false;
  }

  record(peer: string, cause: string, at = Date.now()): void {
    const key = `${peer}\u0000${cause}`;
    const incident = this.open.get(key);
    if (incident !== undefined) {
      incident.count++;
      incident.lastAt = at;
      return;
    }
    const created: Incident = {
      peer,
      cause,
      count: 1,
      firstAt: at,
      lastAt: at,
      logged: false,
      timer: undefined,
    };
    created.timer = setTimeout(() => this.flush(created), this.windowMs);
    created.timer.unref();
    this.open.set(key, created);
  }

  /** Closes the peer's incidents with one `recovered` line each. */
  recovered(peer: string): void {
    for (const [key, incident] of this.open) {
      if (incident.peer !== peer) continue;
      this.flush(incident);
      this.open.delete(key);
      const spanMs = incident.lastAt - incident.firstAt;
      this.write({
        kind: 'recovered',
        peer,
        cause: incident.cause,
        count: incident.count,
        firstAt: incident.firstAt,
        lastAt: incident.lastAt,
        message: `peer ${peer} recovered after ${incident.count} × ${incident.cause} over ${spanMs} ms`,
      });
    }
  }

  /** Forgets a peer that left the set (its open incidents are written first). */
  forget(peer: string): void {
    for (const [key, incident] of this.open) {
      if (incident.peer !== peer) continue;
      this.flush(incident);
      this.open.delete(key);
    }
  }

  /** Writes every unwritten incident and stops the timers. */
  close(): void {
    for (const incident of this.open.values()) this.flush(incident);
    this.open.clear();
  }

  private flush(incident: Incident): void {
    clearTimeout(incident.timer);
    if (incident.logged) return;
    incident.logged = true;
    const { peer, cause, count, firstAt, lastAt } = incident;
    this.write({
      kind: 'failing',
      peer,
      cause,
      count,
      firstAt,
      lastAt,
      message:
        `peer ${peer}: ${count} × ${cause} between ${clockText(firstAt)} and ${clockText(lastAt)}; ` +
        'further failures are counted until it recovers',
    });
  }

  private write(line: IncidentLine): void {
    try {
      this.logger(line);
    } catch {
      // A logger that throws must not break the calls it reports on.
    }
  }
}
