import { test } from 'node:test';
import { requireService, services } from '../../support/services.js';
import { coreSuite } from './core.js';

test('postgres is reachable', async (t) => {
  await requireService(t, 'postgres');
});

coreSuite('lifeline-net/pg against the server directly', () => services.postgres);
