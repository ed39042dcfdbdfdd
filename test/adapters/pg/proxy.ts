// A fault proxy between a test and the shared Postgres server, stopped when the test's body is done.
import { FaultProxy } from '../../../src/faults/index.js';
import { services } from '../../support/services.js';

export interface ProxiedEndpoint {
  host: string;
  port: number;
  user: string;
  database: string;
}

export async function withProxy(
  fn: (proxy: FaultProxy, config: ProxiedEndpoint) => Promise<void>,
): Promise<void> {
  const proxy = new FaultProxy({
    listen: '127.0.0.1:0',
    upstream: `${services.postgres.host}:${services.postgres.port}`,
    seed: 1,
  });
  const { host, port } = await proxy.start();
  try {
    await fn(proxy, { host, port, user: services.postgres.user, database: services.postgres.database });
  } finally {
    await proxy.stop();
  }
}
