// The Deno side of the interop test: deno run --allow-net packages/contract/interop/deno.ts serve | dial <url>
import { dial, listen, Upgrader } from '@sansws/deno';
import { type InteropAdapter, main } from './peer.ts';

const adapter: InteropAdapter = {
  runtime: `deno ${Deno.version.deno}`,
  listen: listen as unknown as InteropAdapter['listen'],
  createUpgrader: (options) => new Upgrader(options),
  dial,
};
const stdinClosed = (async () => {
  for await (const _ of Deno.stdin.readable) {
    // wait for EOF
  }
})();
Deno.exit(await main(adapter, Deno.args, stdinClosed));
