// Where a new pg connection goes. Why this and not exec's HostSet: the two answer different questions.
// HostSet picks a host per *operation attempt* (per-host breakers fed by each attempt's outcome, probes, a
// read/write route per call). A lifeline-net/pg Pool is one pool across the hosts, as pg.Pool and libpq's
// multi-host strings are: pool.query takes whichever connection is idle, so no attempt ever chooses a host.
// The only choice is made when a connection is opened, with libpq's rules: hosts in the order given,
// target_session_attrs checked on the new connection itself, a host that refused moved to the back for
// hostDownMs. Feeding a HostSet breaker from connects alone would open it on a connect-refusal count, which
// is what the ordering already does without a state machine. A pg adapter with one pool per host (so that an
// attempt does pick a host) would route through HostSet instead of this file.
import type { PoolClient } from 'pg';
import type { LiveSocketOptions } from '../../socket/index.js';
import { type ClientConstructor, closeClient, openClient } from './client.js';
import { PgNoHostError } from './errors.js';
import type { HostPlan, PgHost } from './hosts.js';
import { roleMatches, serverRole } from './session-attrs.js';

/**
 * Which server a new connection goes to. Hosts are tried in the order given, as libpq does, except that a
 * host which just failed to connect goes to the back for `downMs`: after a primary is lost, new
 * connections go straight to the next host instead of waiting on the dead one each time.
 */
export class HostRotation {
  private readonly downUntil = new Map<PgHost, number>();

  constructor(
    readonly plan: HostPlan,
    private readonly downMs: number,
  ) {}

  order(): readonly PgHost[] {
    const { hosts } = this.plan;
    if (this.downUntil.size === 0) return hosts;
    const now = Date.now();
    const up: PgHost[] = [];
    const down: PgHost[] = [];
    for (const h of hosts) ((this.downUntil.get(h) ?? 0) > now ? down : up).push(h);
    return up.concat(down);
  }

  markDown(host: PgHost): void {
    if (this.plan.hosts.length > 1) this.downUntil.set(host, Date.now() + this.downMs);
  }

  markUp(host: PgHost): void {
    this.downUntil.delete(host);
  }
}

/**
 * Opens a client on the first host that accepts the connection and matches target_session_attrs.
 * A single host with `any` fails with pg's own error, so code that inspects pg's errors keeps working.
 */
export async function openOnAnyHost(
  rotation: HostRotation,
  Client: ClientConstructor,
  signal: AbortSignal | undefined,
  socketOptions: LiveSocketOptions,
): Promise<PoolClient> {
  const target = rotation.plan.targetSessionAttrs;
  const hosts = rotation.order();
  const passes = target === 'prefer-standby' ? 2 : 1;
  let lastError: unknown;
  for (let pass = 0; pass < passes; pass++) {
    for (const host of hosts) {
      if (signal?.aborted) throw signal.reason;
      let client: PoolClient;
      try {
        client = await openClient(host, Client, signal, socketOptions);
      } catch (error) {
        rotation.markDown(host);
        lastError = error;
        continue;
      }
      if (target !== 'any') {
        try {
          const role = await serverRole(client);
          if (!roleMatches(target, role, pass === passes - 1)) {
            lastError = new Error(
              `${host.label} is a ${role.standby ? 'standby' : 'primary'} (${role.readOnly ? 'read-only' : 'read-write'})`,
            );
            await closeClient(client);
            continue;
          }
        } catch (error) {
          lastError = error;
          await closeClient(client);
          continue;
        }
      }
      rotation.markUp(host);
      return client;
    }
  }
  if (hosts.length === 1 && target === 'any') throw lastError;
  throw new PgNoHostError(hosts.map((h) => h.label).join(', '), target, lastError);
}
