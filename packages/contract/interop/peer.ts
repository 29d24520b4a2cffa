/**
 * One side of the cross-runtime interop test (packages/contract/test/interop.test.ts), written once for
 * every adapter: `serve` starts an echo listener and prints `READY <url>`; `exchange` dials a URL, checks
 * echoes of text and binary messages (compression on), a ping and a clean close, and prints `OK`.
 */

import type { Conn, DialResult } from '@sansws/conn';

/** What a runtime's entry file passes in: its adapter. */
export interface InteropAdapter {
  readonly runtime: string;
  listen(options: {
    handler: (conn: Conn) => Promise<void>;
    upgrader: unknown;
  }): Promise<{ url: string; shutdown(options?: { timeout?: number }): Promise<void> }>;
  createUpgrader(options: { compression: boolean }): unknown;
  dial(url: string, options: { compression: boolean; proxy: null }): Promise<DialResult>;
}

const SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20];

function payload(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 13 + seed) & 0xff;
  return bytes;
}

/** Starts an echo server that also says which runtime it runs on (a `who` text message). */
export async function serve(adapter: InteropAdapter): Promise<{ url: string; stop(): Promise<void> }> {
  const server = await adapter.listen({
    upgrader: adapter.createUpgrader({ compression: true }),
    handler: async (conn) => {
      try {
        for await (const message of conn) {
          if (message.type === 'text' && message.data === 'who') {
            await conn.writeMessage('text', adapter.runtime);
          } else await conn.writeMessage(message.type, message.data);
        }
      } catch {
        // abnormal closes end the echo
      }
    },
  });
  return { url: server.url, stop: () => server.shutdown({ timeout: 1000 }) };
}

/** Dials `url`, checks every echo, and returns the server's runtime. Throws on any mismatch. */
export async function exchange(adapter: InteropAdapter, url: string): Promise<string> {
  const { conn } = await adapter.dial(url, { compression: true, proxy: null });
  if (conn.extensions?.startsWith('permessage-deflate') !== true) {
    throw new Error(`compression not negotiated: ${conn.extensions}`);
  }
  await conn.writeMessage('text', 'who');
  const who = await conn.readMessage();
  for (const size of SIZES) {
    const bytes = payload(size, size);
    await conn.writeMessage('binary', bytes);
    const echoed = await conn.readMessage();
    const data = echoed.data as Uint8Array;
    if (echoed.type !== 'binary' || data.length !== size || data.some((byte, i) => byte !== bytes[i])) {
      throw new Error(`binary echo of ${size} bytes differs`);
    }
    const text = 'ж'.repeat(size >> 1);
    await conn.writeMessage('text', text);
    const back = await conn.readMessage();
    if (back.type !== 'text' || back.data !== text) throw new Error(`text echo of ${size} bytes differs`);
  }
  await conn.ping();
  const info = await conn.close(1000, 'done');
  if (info.code !== 1000 || !info.clean) throw new Error(`unclean close: ${info.code}`);
  return who.data as string;
}

/**
 * The command line of a child process: `serve` (prints `READY <url>`, stops when stdin closes) or
 * `dial <url>` (prints `OK <server runtime>`).
 */
export async function main(
  adapter: InteropAdapter,
  args: readonly string[],
  stdinClosed: Promise<void>,
): Promise<number> {
  if (args[0] === 'serve') {
    const server = await serve(adapter);
    console.log(`READY ${server.url}`);
    await stdinClosed;
    await server.stop();
    return 0;
  }
  if (args[0] === 'dial' && args[1] !== undefined) {
    try {
      console.log(`OK ${await exchange(adapter, args[1])}`);
      return 0;
    } catch (error) {
      console.log(`FAIL ${String(error)}`);
      return 1;
    }
  }
  console.log('usage: serve | dial <url>');
  return 2;
}
