/**
 * Echo servers on loopback, port 0, for the fuzz runs: `@sansws/node`'s `listen`, the npm `ws` package's
 * `WebSocketServer` (a peer no one here wrote), and `@sansws/bun` / `@sansws/deno` in child processes. All
 * echo every message as received.
 */

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Conn, listen, Upgrader } from '@sansws/node';
import { WebSocketServer } from 'ws';

export interface EchoServer {
  readonly url: string;
  close(): Promise<void>;
}

async function echo(conn: Conn): Promise<void> {
  try {
    for await (const message of conn) await conn.writeMessage(message.type, message.data);
  } catch {
    // An error close (the fuzzer's hostile traffic): nothing to echo.
  }
}

/** The sansws node adapter's `listen` with an echo handler. */
export async function sanswsEchoServer(compression: boolean): Promise<EchoServer> {
  const listener = await listen({
    upgrader: new Upgrader({ compression, pingInterval: 0 }),
    handler: echo,
  });
  return { url: listener.url, close: () => listener.shutdown({ timeout: 500 }) };
}

/** `ws`'s server on a node:http server, echoing with the same opcode. */
export async function wsEchoServer(compression: boolean): Promise<EchoServer> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: compression });
  await once(server, 'listening');
  server.on('connection', (socket) => {
    socket.on('error', () => {});
    socket.on('message', (data, isBinary) => socket.send(data as Buffer, { binary: isBinary }));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}

/**
 * An echo server from `servers/echo-<runtime>.ts` in a child Bun or Deno process (the adapters' own
 * runtimes). Resolves once it printed its URL; `close()` closes its stdin and waits for it to exit.
 */
export async function childEchoServer(runtime: 'bun' | 'deno', compression: boolean): Promise<EchoServer> {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const script = fileURLToPath(new URL(`../servers/echo-${runtime}.ts`, import.meta.url));
  const args = runtime === 'bun'
    ? ['--conditions=source', script]
    : ['run', '--allow-net', '--allow-env', '--allow-read', script];
  if (compression) args.push('--compression');
  const child = spawn(join(root, 'node_modules', '.bin', runtime), args, {
    cwd: root,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (data: Buffer) => {
      out += data.toString();
      const line = /^(ws:\/\/\S+)\n/.exec(out);
      if (line !== null) resolve(line[1]!);
    });
    child.once('exit', (code) => reject(new Error(`${runtime} echo server exited with ${code}: ${out}`)));
  });
  return {
    url,
    close: async () => {
      child.stdin!.end();
      await exited;
    },
  };
}
