// The client side of `lifeline check`: which TCP settings this machine's kernel takes on a connection to
// the checked server, as LiveSocket's capabilities() reads them back (keepalive idle, interval and count,
// TCP_USER_TIMEOUT), with LiveSocket's defaults. One bare TCP connection, opened and closed before the
// driver logs in (a server may log it as an incomplete startup).

import { defaultOptions, LiveSocket } from '../../socket/index.js';
import { reason } from './load.js';
import type { ClientSide, Finding } from './types.js';

export async function probeClient(host: string, port: number, timeoutMs: number): Promise<ClientSide> {
  const socket = LiveSocket.connect({ host, port, connectTimeoutMs: timeoutMs });
  try {
    await socket.ready();
    return { capabilities: socket.capabilities() };
  } catch (error) {
    return { capabilities: undefined, error: reason(error) };
  } finally {
    socket.destroy();
  }
}

/** Findings about the client side: keepalive or TCP_USER_TIMEOUT not taking effect as configured. */
export function clientFindings(client: ClientSide): Finding[] {
  const caps = client.capabilities;
  if (caps === undefined) return [];
  const findings: Finding[] = [];
  if (caps.keepalive !== 'native') {
    findings.push({
      level: 'warn',
      code: 'client.keepalive',
      message: `this machine applies keepalive as '${caps.keepalive}', not the idle/interval/count lifeline asks for (${defaultOptions.keepaliveIdleMs / 1000} s, ${defaultOptions.keepaliveIntervalMs / 1000} s × ${defaultOptions.keepaliveCount}): a dead peer is found later than configured${caps.reasons.length ? ` (${caps.reasons.join('; ')})` : ''}`,
    });
  }
  if (caps.userTimeout !== 'native') {
    findings.push({
      level: 'info',
      code: 'client.user-timeout',
      message: `TCP_USER_TIMEOUT is ${caps.userTimeout} here: unacknowledged writes are found by writeStallMs and keepalive only`,
    });
  }
  return findings;
}
