// The Bun side of the interop test: bun --conditions=source packages/contract/interop/bun.ts serve | dial <url>
import { dial, listen, Upgrader } from '@sansws/bun';
import { type InteropAdapter, main } from './peer.ts';

const adapter: InteropAdapter = {
  runtime: `bun ${Bun.version}`,
  listen: listen as unknown as InteropAdapter['listen'],
  createUpgrader: (options) => new Upgrader(options),
  dial,
};
const stdinClosed = (async () => {
  for await (const _ of Bun.stdin.stream()) {
    // wait for EOF
  }
})();
process.exit(await main(adapter, Bun.argv.slice(2), stdinClosed));
