/**
 * The adapters under the conformance suite, written once for Node, Bun and Deno (each runtime's entry file,
 * `node.ts`, `bun.ts`, `deno.ts`, passes its adapter in):
 *
 * - `echo`: an echo server with one endpoint per send path, as gorilla's conformance server has: `/` echoes
 *   whole messages (`readMessage`/`writeMessage`), `/stream` streams them back (`nextReader`/`nextWriter`,
 *   one frame out per chunk in), `/prepared` through a `PreparedMessage` (`writePreparedMessage`),
 *   `/handler` from a message handler (`setMessageHandler`, text as bytes, the write's promise returned).
 *   Limits admit every case (16 MiB messages), keepalive pings are off, `--compression` offers
 *   permessage-deflate with the default parameters. It prints its URL, logs one line per connection error
 *   and never exits.
 * - `client`: our `dial` (compression offered) driving a fuzzing server through the echo-driver protocol
 *   (`/getCaseCount`, `/runCase`, `/updateReports`).
 */

import type { Conn, DialResult, MessageType } from '@sansws/conn';

/** The part of an adapter this file uses (the same API in every runtime). */
export interface EchoAdapter {
  readonly runtime: string;
  listen(options: {
    port?: number;
    host?: string;
    tls?: { cert: string; key: string };
    upgrader: unknown;
    handler: (conn: Conn, request: { readonly target: string }) => Promise<void>;
    onError?: (error: unknown) => void;
  }): Promise<{ url: string }>;
  createUpgrader(options: { compression: boolean; maxMessageSize: number; pingInterval: number }): unknown;
  dial(
    url: string,
    options: { compression: boolean; proxy: null; maxMessageSize: number; pingInterval: number },
  ): Promise<DialResult>;
  prepare(type: MessageType, data: string | Uint8Array): unknown;
}

/** Largest message of any case (9.1.6, 9.2.6: 16 MiB). */
export const MAX_MESSAGE_SIZE: number = 16 * 1024 * 1024;

/** One line for a connection error; a normal close is not one. */
function describe(error: unknown): string | undefined {
  const e = error as { name?: string; message?: string; closeCode?: number };
  if (e?.name === 'CloseError' && (e.closeCode === 1000 || e.closeCode === 1001)) return undefined;
  return `${e?.name ?? 'Error'}: ${e?.message ?? String(error)}`.replace(/\s+/g, ' ');
}

/** `/`: whole messages. */
async function echoWhole(conn: Conn): Promise<void> {
  for (;;) {
    const message = await conn.readMessage();
    await conn.writeMessage(message.type, message.data);
  }
}

/** `/stream`: each message read as chunks and written back as one frame per chunk. */
async function echoStream(conn: Conn): Promise<void> {
  for (;;) {
    const reader = await conn.nextReader();
    const writer = await conn.nextWriter(reader.type);
    for (;;) {
      const chunk = await reader.read();
      if (chunk === null) break;
      await writer.write(chunk);
    }
    await writer.close();
  }
}

/** `/prepared`: whole messages, each sent back as a PreparedMessage. */
async function echoPrepared(conn: Conn, adapter: EchoAdapter): Promise<void> {
  for (;;) {
    const message = await conn.readMessage();
    await conn.writePreparedMessage(adapter.prepare(message.type, message.data) as never);
  }
}

/**
 * `/handler`: whole messages handed to a message handler, which writes each back and returns the write's
 * promise (so a write that waits holds the next message back). Resolves when the connection ends; a failed
 * connection rejects with its CloseError, as the reads of the other endpoints do.
 */
async function echoHandler(conn: Conn): Promise<void> {
  conn.setMessageHandler((message) => conn.writeMessage(message.type, message.data), { bytes: true });
  const info = await conn.closed;
  throw info.error;
}

/** Options of {@link serveEcho}. */
export interface EchoOptions {
  readonly port?: number;
  readonly compression?: boolean;
  readonly tls?: { cert: string; key: string };
  /** Where connection errors go, one line each. Default: console.error. */
  readonly log?: (line: string) => void;
}

/** Starts the echo server on 127.0.0.1; resolves with its URL (`ws://127.0.0.1:PORT/`). */
export async function serveEcho(adapter: EchoAdapter, options: EchoOptions = {}): Promise<{ url: string }> {
  const log = options.log ?? ((line: string) => console.error(line));
  return await adapter.listen({
    port: options.port ?? 0,
    host: '127.0.0.1',
    ...(options.tls !== undefined ? { tls: options.tls } : {}),
    upgrader: adapter.createUpgrader({
      compression: options.compression ?? false,
      maxMessageSize: MAX_MESSAGE_SIZE,
      pingInterval: 0,
    }),
    handler: async (conn, request) => {
      const path = request.target.split('?')[0];
      try {
        if (path === '/stream') await echoStream(conn);
        else if (path === '/prepared') await echoPrepared(conn, adapter);
        else if (path === '/handler') await echoHandler(conn);
        else await echoWhole(conn);
      } catch (error) {
        const line = describe(error);
        if (line !== undefined) log(`${path}: ${line}`);
      }
    },
    onError: (error) => {
      const line = describe(error);
      if (line !== undefined) log(`listener: ${line}`);
    },
  });
}

/** One connection of the echo driver: dial, echo every message until the server closes. */
async function drive(adapter: EchoAdapter, url: string, onText?: (text: string) => void): Promise<void> {
  let conn: Conn;
  try {
    ({ conn } = await adapter.dial(url, {
      compression: true,
      proxy: null,
      maxMessageSize: MAX_MESSAGE_SIZE,
      pingInterval: 0,
    }));
  } catch {
    return; // a case may refuse the handshake (e.g. a parameter set we did not offer)
  }
  try {
    for (;;) {
      const message = await conn.readMessage();
      if (message.type === 'text') onText?.(message.data as string);
      await conn.writeMessage(message.type, message.data);
    }
  } catch {
    // the server closed (normally or not): the case is over
  }
}

/** Drives a fuzzing server at `base` (`ws://127.0.0.1:9001`): every case, then the reports. */
export async function driveClient(adapter: EchoAdapter, base: string, agent: string): Promise<number> {
  const root = base.replace(/\/+$/, '');
  let count = Number.NaN;
  await drive(adapter, `${root}/getCaseCount`, (text) => (count = Number(text)));
  if (!Number.isInteger(count) || count < 0) throw new Error(`no case count from ${root}/getCaseCount`);
  const name = encodeURIComponent(agent);
  for (let i = 1; i <= count; i++) await drive(adapter, `${root}/runCase?case=${i}&agent=${name}`);
  await drive(adapter, `${root}/updateReports?agent=${name}`);
  return count;
}

function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/**
 * The command line of an entry file: `echo [--port N] [--tls] [--compression]` (prints the URL, runs until
 * killed) or `client --url ws://127.0.0.1:N [--agent NAME]` (exit status 0 once every case ran).
 * `tls` loads the test certificate (`@sansws/contract`'s, for localhost and 127.0.0.1) when asked for.
 */
export async function main(
  adapter: EchoAdapter,
  args: readonly string[],
  tls: () => Promise<{ cert: string; key: string }>,
): Promise<number | undefined> {
  if (args[0] === 'echo') {
    const server = await serveEcho(adapter, {
      port: Number(flag(args, '--port') ?? 0),
      compression: args.includes('--compression'),
      ...(args.includes('--tls') ? { tls: await tls() } : {}),
    });
    console.log(server.url);
    return undefined; // runs until killed
  }
  if (args[0] === 'client') {
    const url = flag(args, '--url');
    if (url === undefined) {
      console.error('client: --url ws://127.0.0.1:N is required');
      return 2;
    }
    const agent = flag(args, '--agent') ?? `sansws-${adapter.runtime}`;
    const count = await driveClient(adapter, url, agent);
    console.log(`ran ${count} cases as ${agent}`);
    return 0;
  }
  console.error('usage: echo [--port N] [--tls] [--compression] | client --url URL [--agent NAME]');
  return 2;
}
