/**
 * The in-memory transport pair and virtual clock now live in `@sansws/testing` (a test-only dependency:
 * `@sansws/conn` never imports it at runtime). `openPair` is `pipe()` built on this package's own source,
 * so that these tests exercise `src/` (vitest resolves `@sansws/conn`, as `pipe()` imports it, to `dist/`).
 */

import { MemoryTransport, VirtualClock } from '@sansws/testing';
import {
  type Conn,
  dial,
  type DialOptions,
  type DialResult,
  Upgrader,
  type UpgraderOptions,
} from '../src/mod.ts';

export { MemoryTransport, settle, VirtualClock } from '@sansws/testing';

/** What `openPair` resolves with: `Pipe`'s fields, typed with this package's source. */
export interface Pair {
  server: Conn;
  client: Conn;
  clock: VirtualClock;
  serverTransport: MemoryTransport;
  clientTransport: MemoryTransport;
  upgrader: Upgrader;
  response: DialResult['response'];
}

/** A server Conn and a client Conn connected in memory, on a virtual clock. */
export async function openPair(
  serverOptions: Partial<UpgraderOptions> = {},
  clientOptions: Partial<DialOptions> = {},
): Promise<Pair> {
  const clock = new VirtualClock();
  const [serverTransport, clientTransport] = MemoryTransport.pair();
  const upgrader = new Upgrader({ timers: clock, ...serverOptions });
  const serverPromise = upgrader.upgradeTransport(serverTransport);
  const { conn: client, response } = await dial('ws://example.com/chat', {
    timers: clock,
    connect: () => Promise.resolve(clientTransport),
    ...clientOptions,
  });
  const server = await serverPromise;
  return { server, client, clock, serverTransport, clientTransport, upgrader, response };
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
