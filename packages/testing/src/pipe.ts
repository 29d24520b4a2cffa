/**
 * {@link pipe}: a server `Conn` and a client `Conn` connected in memory, on a virtual clock.
 *
 * @module
 */

import {
  type Conn,
  dial,
  type DialOptions,
  type DialResult,
  Upgrader,
  type UpgraderOptions,
} from '@sansws/conn';
import { MemoryTransport, VirtualClock } from './memory.ts';

/** Options of {@link pipe}. */
export interface PipeOptions {
  /** The server's `Upgrader` options (the clock is supplied). */
  readonly server?: Omit<UpgraderOptions, 'timers'>;
  /** The client's `dial` options (the clock and the transport are supplied). */
  readonly client?: Omit<DialOptions, 'timers' | 'connect'>;
  /** The URL the client dials. Default `'ws://example.com/chat'`. */
  readonly url?: string;
  /** A clock to share with other pipes. Default: a new {@link VirtualClock}. */
  readonly clock?: VirtualClock;
}

/** What {@link pipe} resolves with. */
export interface Pipe {
  /** The server side. */
  readonly server: Conn;
  /** The client side. */
  readonly client: Conn;
  /** The clock both run on: `await clock.advance(ms)` fires their deadlines, keepalive and close timeouts. */
  readonly clock: VirtualClock;
  /** The server's transport (inspect `written`, `hold`, `pause`, `destroy`). */
  readonly serverTransport: MemoryTransport;
  /** The client's transport. */
  readonly clientTransport: MemoryTransport;
  /** The server's upgrader (for `connections` and `shutdown`). */
  readonly upgrader: Upgrader;
  /** The server's 101 response, as the client saw it. */
  readonly response: DialResult['response'];
}

/**
 * Opens a client and a server `Conn` connected in memory: no sockets, no real time. Both run on one
 * {@link VirtualClock}; nothing times out until the test advances it. Rejects as `dial` does when the server
 * refuses the handshake (e.g. with server options that refuse the client's).
 *
 * ```ts
 * const { server, client, clock } = await pipe({ server: { pingInterval: 30_000 } });
 * await clock.advance(30_000); // the server pings; the client answers
 * ```
 */
export async function pipe(options: PipeOptions = {}): Promise<Pipe> {
  const clock = options.clock ?? new VirtualClock();
  const [serverTransport, clientTransport] = MemoryTransport.pair();
  const upgrader = new Upgrader({ ...options.server, timers: clock });
  const serverPromise = upgrader.upgradeTransport(serverTransport);
  // A refusal rejects both: report the client's (it carries the response), and do not leave the other unhandled.
  serverPromise.catch(() => {});
  const { conn: client, response } = await dial(options.url ?? 'ws://example.com/chat', {
    ...options.client,
    timers: clock,
    connect: () => Promise.resolve(clientTransport),
  });
  const server = await serverPromise;
  return { server, client, clock, serverTransport, clientTransport, upgrader, response };
}
