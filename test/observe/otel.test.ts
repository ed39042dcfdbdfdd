// The OpenTelemetry way out, through `@opentelemetry/api`'s Meter interface: a meter that keeps what it is
// given (the SDK's own is not installable next to api 1.10), collected the way an SDK reader collects, by
// calling every observable callback. Checks names, units, attributes and the histograms' raw values.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Attributes, Histogram, Meter, ObservableCallback, ObservableResult } from '@opentelemetry/api';
import { instrument } from '../../src/observe/index.js';
import { Pool } from '../../src/pool/index.js';
import type { LiveSocket } from '../../src/socket/index.js';
import { socketFactory, startServer } from '../pool/support.js';

interface Point {
  name: string;
  value: number;
  attributes: Attributes;
}

/** The instruments a Meter was asked for, and a collect() that runs the observable callbacks. */
function keepingMeter() {
  const units = new Map<string, string | undefined>();
  const callbacks: Array<[string, ObservableCallback]> = [];
  const recorded: Point[] = [];
  const observable = (name: string, options?: { unit?: string }) => {
    units.set(name, options?.unit);
    return {
      addCallback: (cb: ObservableCallback) => callbacks.push([name, cb]),
      removeCallback: (cb: ObservableCallback) => {
        const i = callbacks.findIndex(([, c]) => c === cb);
        if (i >= 0) callbacks.splice(i, 1);
      },
    };
  };
  const meter = {
    createObservableUpDownCounter: observable,
    createObservableCounter: observable,
    createObservableGauge: observable,
    createHistogram: (name: string, options?: { unit?: string }): Partial<Histogram> => {
      units.set(name, options?.unit);
      return {
        record: (value: number, attributes?: Attributes) =>
          recorded.push({ name, value, attributes: attributes ?? {} }),
      };
    },
  } as unknown as Meter;
  const collect = (): Point[] => {
    const points: Point[] = [];
    for (const [name, cb] of callbacks) {
      const result: ObservableResult = {
        observe: (value: number, attributes?: Attributes) =>
          points.push({ name, value, attributes: attributes ?? {} }),
      };
      void cb(result);
    }
    return points;
  };
  return { meter, units, recorded, collect, callbacks };
}

test('a Meter gets the connection metrics with their semantic-convention names, units and attributes', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const pool = new Pool<LiveSocket>({ factory: socketFactory(server.port), max: 2 });
  t.after(() => pool.drain());
  const { meter, units, recorded, collect, callbacks } = keepingMeter();
  const metrics = instrument({ meter }).pool(pool, 'orders');

  const a = await pool.acquire();
  const b = await pool.acquire();
  pool.release(a);
  const points = collect();
  const count = points.filter((p) => p.name === 'db.client.connection.count');
  assert.deepEqual(count.map((p) => [p.attributes['db.client.connection.state'], p.value]).sort(), [
    ['idle', 1],
    ['used', 1],
  ]);
  for (const p of count) assert.equal(p.attributes['db.client.connection.pool.name'], 'orders');
  assert.equal(units.get('db.client.connection.count'), '{connection}');
  assert.equal(units.get('db.client.connection.wait_time'), 's');
  // The collection handed the histograms' buffered values over: two creates, two waits, one use.
  const of = (name: string) => recorded.filter((r) => r.name === name);
  assert.equal(of('db.client.connection.create_time').length, 2);
  assert.equal(of('db.client.connection.wait_time').length, 2);
  assert.equal(of('db.client.connection.use_time').length, 1);
  for (const r of of('db.client.connection.wait_time')) {
    assert.equal(r.attributes['db.client.connection.pool.name'], 'orders');
    assert.ok(r.value >= 0);
  }
  pool.release(b);
  metrics.close();
  assert.equal(callbacks.length, 0, 'close() removed every callback');
});
