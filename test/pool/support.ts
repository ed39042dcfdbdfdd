// Real TCP servers and a LiveSocket factory for the pool tests. No network mocks: every connection is a real
// loopback socket, and "the server closes it" means the server's kernel sends a FIN or an RST.
import net from 'node:net';
import type { Factory } from '../../src/pool/index.js';
import { LiveSocket } from '../../src/socket/index.js';
import { startServer as startLoopback, type TestServer } from '../socket/support.js';

export type { TestServer } from '../socket/support.js';

/**
 * The loopback server of the socket tests; by default each accepted socket is greeted with one byte ("+")
 * so clients know the server really took them.
 */
export function startServer(onConnection: (socket: net.Socket) => void = greet): Promise<TestServer> {
  return startLoopback(onConnection);
}

export function greet(socket: net.Socket): void {
  socket.write('+');
}

/** A port on which nothing listens (bound, read, released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Dials with LiveSocket and waits for the server's one-byte greeting, so a server that accepts and then
 * drops every connection counts as a failed create; aborting `signal` destroys the attempt.
 */
export async function connect(port: number, signal: AbortSignal): Promise<LiveSocket> {
  const live = LiveSocket.connect({ host: '127.0.0.1', port });
  const onAbort = (): void => live.destroy(signal.reason instanceof Error ? signal.reason : undefined);
  signal.addEventListener('abort', onAbort, { once: true });
  let unsubscribe = (): void => {};
  try {
    await live.ready();
    await new Promise<void>((resolve, reject) => {
      live.socket.once('data', () => resolve());
      unsubscribe = live.onClose((death) =>
        reject(new Error(`server closed before greeting (${death.cause})`)),
      );
    });
    return live;
  } catch (error) {
    live.destroy();
    throw error;
  } finally {
    unsubscribe();
    signal.removeEventListener('abort', onAbort);
  }
}

export interface SocketFactoryOptions {
  /** Register onDeath (event-driven eviction); without it the pool relies on alive() at handout. */
  onDeath?: boolean;
  ping?: Factory<LiveSocket>['ping'];
}

/** A Pool factory of LiveSockets to `port`, as an application would write it; counts create attempts. */
export function socketFactory(
  port: number,
  options: SocketFactoryOptions = {},
): Factory<LiveSocket> & { attempts: number; destroyed: LiveSocket[] } {
  const factory = {
    attempts: 0,
    destroyed: [] as LiveSocket[],
    create(signal: AbortSignal): Promise<LiveSocket> {
      factory.attempts++;
      return connect(port, signal);
    },
    destroy(live: LiveSocket): void {
      factory.destroyed.push(live);
      live.destroy();
    },
    alive: (live: LiveSocket) => live.usable,
    ...(options.onDeath === false
      ? {}
      : {
          onDeath: (live: LiveSocket, callback: (error?: Error) => void) => {
            live.onClose((death) => callback(death.error));
          },
        }),
    ...(options.ping === undefined ? {} : { ping: options.ping }),
  };
  return factory;
}

/** Blocks the event loop: nothing (no I/O event, no timer) runs until it returns. */
export function blockEventLoop(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy
  }
}

/** An in-memory resource for tests about order, timeouts and options, where no I/O is involved. */
export class Token {
  static next = 0;
  readonly id = Token.next++;
  usable = true;
}

export function tokenFactory(): Factory<Token> & { created: Token[]; destroyed: Token[] } {
  const factory = {
    created: [] as Token[],
    destroyed: [] as Token[],
    create: async (): Promise<Token> => {
      const token = new Token();
      factory.created.push(token);
      return token;
    },
    destroy: (token: Token): void => {
      token.usable = false;
      factory.destroyed.push(token);
    },
    alive: (token: Token) => token.usable,
  };
  return factory;
}
