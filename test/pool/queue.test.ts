import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Deque } from '../../src/pool/queue.js';

test('Deque: FIFO with shift, LIFO with pop, across wrap-around and growth', () => {
  const q = new Deque<number>(4);
  const model: number[] = [];
  let next = 0;
  // Deterministic mix of operations, checked against an array.
  for (let i = 0; i < 2000; i++) {
    const op = (i * 7919) % 5;
    if (op <= 1) {
      q.push(next);
      model.push(next++);
    } else if (op === 2) {
      q.unshift(next);
      model.unshift(next++);
    } else if (op === 3) {
      assert.equal(q.shift(), model.shift());
    } else {
      assert.equal(q.pop(), model.pop());
    }
    assert.equal(q.length, model.length);
    assert.equal(q.peek(), model[0]);
  }
  assert.deepEqual(q.toArray(), model);
});

test('Deque: remove keeps the order of the rest', () => {
  const q = new Deque<string>(4);
  for (const s of ['x', 'a', 'b', 'c', 'd', 'e']) q.push(s);
  q.shift();
  q.push('f');
  assert.equal(q.remove('c'), true);
  assert.equal(q.remove('zz'), false);
  assert.deepEqual(q.toArray(), ['a', 'b', 'd', 'e', 'f']);
  assert.equal(q.pop(), 'f');
  assert.equal(q.shift(), 'a');
  assert.equal(q.length, 3);
});

test('Deque: empty takes return undefined', () => {
  const q = new Deque<number>();
  assert.equal(q.shift(), undefined);
  assert.equal(q.pop(), undefined);
  assert.equal(q.peek(), undefined);
});
