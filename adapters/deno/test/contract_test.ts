/**
 * The adapter contract (`@sansws/contract`) under Deno, on `@sansws/deno`: `deno test` (see the root
 * package.json's `test:deno` for the permissions). The same few lines as the Node and Bun runners.
 */

import { contractCases, type RuntimeUnderTest } from '@sansws/contract';
import { connect, DenoTransport, dial, listen, Upgrader } from '@sansws/deno';

const runtime: RuntimeUnderTest = {
  name: `deno ${Deno.version.deno}`,
  listen: listen as unknown as RuntimeUnderTest['listen'],
  dial,
  createUpgrader: (options) => new Upgrader(options),
  connect,
  serveTcp: (onTransport) => {
    const server = Deno.listen({ hostname: '127.0.0.1', port: 0 });
    const accepting = (async () => {
      for await (const conn of server) onTransport(new DenoTransport(conn));
    })().catch(() => {});
    return Promise.resolve({
      port: (server.addr as Deno.NetAddr).port,
      close: async () => {
        server.close();
        await accepting;
      },
    });
  },
  missing: {
    tlsSkipVerify: 'Deno has no per-connection switch to skip certificate verification ' +
      '(only the process-wide --unsafely-ignore-certificate-errors flag)',
  },
};

for (const c of contractCases(runtime)) {
  Deno.test({
    name: `adapter contract on ${runtime.name} › ${c.name}`,
    ignore: c.skip !== undefined,
    // Each case closes what it opened; unref'd keepalive timers may outlive it by design.
    sanitizeOps: false,
    sanitizeResources: false,
    fn: c.run,
  });
}
