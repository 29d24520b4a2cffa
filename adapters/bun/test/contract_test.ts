/**
 * The adapter contract (`@sansws/contract`) under Bun, on `@sansws/bun`: `bun test` (see the root
 * package.json's `test:bun`). The same few lines as the Node and Deno runners.
 */

import { describe, test } from 'bun:test';
import { contractCases, type RuntimeUnderTest } from '@sansws/contract';
import { BunTransport, connect, dial, listen, Upgrader } from '../src/mod.ts';

const runtime: RuntimeUnderTest = {
  name: `bun ${Bun.version}`,
  listen: listen as unknown as RuntimeUnderTest['listen'],
  dial,
  createUpgrader: (options) => new Upgrader(options),
  connect,
  serveTcp: (onTransport) => {
    const server = Bun.listen({
      hostname: '127.0.0.1',
      port: 0,
      allowHalfOpen: true,
      data: { transport: null },
      socket: BunTransport.serverHandler(onTransport, () => {}),
    });
    return Promise.resolve({ port: server.port, close: () => Promise.resolve(server.stop(true)) });
  },
};

describe(`adapter contract on ${runtime.name}`, () => {
  for (const c of contractCases(runtime)) {
    if (c.skip !== undefined) test.skip(`${c.name} (${c.skip})`, c.run);
    else test(c.name, c.run, 30_000);
  }
});
