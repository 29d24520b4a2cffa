/**
 * The adapter contract (`@sansws/contract`) under Node, on `@sansws/node`. The Bun and Deno runners are the
 * same few lines over their adapters (adapters/bun/test, adapters/deno/test).
 */

import { type AddressInfo, createServer } from 'node:net';
import { contractCases, type RuntimeUnderTest } from '@sansws/contract';
import { describe, it } from 'vitest';
import { connect, dial, listen, NodeTransport, Upgrader } from '../src/mod.ts';

const runtime: RuntimeUnderTest = {
  name: `node ${process.versions.node}`,
  listen: listen as unknown as RuntimeUnderTest['listen'],
  dial,
  createUpgrader: (options) => new Upgrader(options),
  connect,
  serveTcp: (onTransport) =>
    new Promise((resolve) => {
      const server = createServer((socket) => onTransport(new NodeTransport(socket)));
      server.listen(0, '127.0.0.1', () =>
        resolve({
          port: (server.address() as AddressInfo).port,
          close: () => new Promise<void>((done) => server.close(() => done())),
        }));
    }),
};

describe(`adapter contract on ${runtime.name}`, () => {
  for (const c of contractCases(runtime)) {
    if (c.skip !== undefined) it.skip(`${c.name} (${c.skip})`, c.run);
    else it(c.name, c.run, 30_000);
  }
});
