// Wrong-typed arguments to LiveSocket's methods are InvalidOptionErrors at the call, never a bare TypeError
// or, worse, a TypeError thrown later from inside a socket event (a non-function onClose hook used to crash
// the process when the connection died).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { InvalidOptionError } from '../../src/core/options.js';
import { LiveSocket } from '../../src/socket/index.js';
import { deathOf, startServer } from './support.js';

const server = await startServer();
after(() => server.close());

function invalid(owner: string, option: string, message: RegExp): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof InvalidOptionError, String(error));
    assert.equal(error.code, 'LIFELINE_INVALID_OPTION');
    assert.equal(error.option, option);
    assert.ok(error.message.startsWith(owner), error.message);
    assert.match(error.message, message);
    return true;
  };
}

test('onClose and destroy refuse wrong-typed arguments, and the socket is unharmed', async () => {
  const live = LiveSocket.connect({ host: '127.0.0.1', port: server.port });
  await live.ready();
  assert.throws(
    () => live.onClose('log' as never),
    invalid('LiveSocket.onClose', 'hook', /argument "hook" must be a function/),
  );
  assert.throws(
    () => live.destroy('gone' as never),
    invalid('LiveSocket.destroy', 'error', /must be an Error or undefined, got 'gone'/),
  );
  assert.throws(
    () => live.destroy(new Error('x'), 'exploded' as never),
    invalid('LiveSocket.destroy', 'cause', /must be one of peer-fin, reset/),
  );
  assert.equal(live.state, 'open');
  live.destroy();
  assert.equal((await deathOf(live)).cause, 'local-close');
});

test('tls options Node refuses are an InvalidOptionError with Node’s error as cause', () => {
  assert.throws(
    () => LiveSocket.connect({ host: '127.0.0.1', port: server.port, tls: { signal: 'x' } as never }),
    (error: unknown) => {
      invalid('LiveSocket.connect', 'tls', /option "tls" was refused by Node \(/)(error);
      assert.ok((error as Error).cause instanceof TypeError);
      return true;
    },
  );
});
