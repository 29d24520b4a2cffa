/**
 * Raw-socket helpers over the runtime's own transports: hand-written HTTP exchanges, a silent peer, and a
 * small HTTP CONNECT proxy (RFC 9110 §9.3.6) with optional basic auth.
 *
 * @module
 */

import type { Transport } from '@sansws/conn';
import type { RuntimeUnderTest, TcpServer } from './runtime.ts';
import { decoder, encoder, web } from './web.ts';

/** A raw client connection: what it received so far, and when it closed. */
export interface RawClient {
  readonly transport: Transport;
  /** Everything received, as Latin-1 text. */
  text(): string;
  /** Resolves when the peer closed or the connection ended. */
  readonly closed: Promise<void>;
  write(data: string | Uint8Array): void;
  /** Resolves once `pattern` is found in what was received. */
  waitFor(pattern: RegExp): Promise<void>;
}

/** Connects to 127.0.0.1:`port` with the runtime's transport and records what arrives. */
export async function rawConnect(runtime: RuntimeUnderTest, port: number): Promise<RawClient> {
  const controller = new web.AbortController();
  const transport = await runtime.connect({
    hostname: '127.0.0.1',
    port,
    tls: null,
    signal: controller.signal,
  });
  const chunks: Uint8Array[] = [];
  let text = '';
  let closedResolve!: () => void;
  const closed = new Promise<void>((resolve) => (closedResolve = resolve));
  const waiters: Array<() => void> = [];
  transport.start({
    data: (chunk) => {
      chunks.push(chunk);
      text += decoder.decode(chunk);
      for (const waiter of [...waiters]) waiter();
    },
    end: () => transport.end(),
    drain: () => {},
    closed: () => closedResolve(),
  }, { writeHighWaterMark: 64 * 1024 });
  transport.resume();
  return {
    transport,
    text: () => text,
    closed,
    write: (data) => void transport.write(typeof data === 'string' ? encoder.encode(data) : data),
    waitFor: (pattern) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (!pattern.test(text)) return;
          waiters.splice(waiters.indexOf(check), 1);
          resolve();
        };
        waiters.push(check);
        check();
        void closed.then(() => {
          if (waiters.includes(check)) reject(new Error(`closed before ${pattern} arrived: ${text}`));
        });
      }),
  };
}

/** Sends `request` and resolves with everything answered until the server closes the connection. */
export async function rawExchange(runtime: RuntimeUnderTest, port: number, request: string): Promise<string> {
  const client = await rawConnect(runtime, port);
  client.write(request);
  await client.closed;
  return client.text();
}

/** A handshake request for hand-written clients (the RFC 6455 §1.3 sample key). */
export function handshakeRequest(port: number, extra = ''): string {
  return `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;
}

/** A server that accepts connections and never says anything (for handshake timeouts). */
export async function silentServer(runtime: RuntimeUnderTest): Promise<TcpServer> {
  const held = new Set<Transport>();
  const server = await runtime.serveTcp((transport) => {
    held.add(transport);
    transport.start({
      data: () => {},
      end: () => transport.end(),
      drain: () => {},
      closed: () => held.delete(transport),
    }, { writeHighWaterMark: 64 * 1024 });
    transport.resume();
  });
  return {
    port: server.port,
    close: async () => {
      for (const transport of held) transport.destroy();
      await server.close();
    },
  };
}

/** A running CONNECT proxy. */
export interface Proxy {
  readonly url: string;
  readonly port: number;
  /** CONNECT targets seen, in order. */
  readonly tunnels: string[];
  close(): Promise<void>;
}

/** Base64 of the UTF-8 bytes of `text` (what clients send for basic auth). */
function base64(text: string): string {
  let binary = '';
  for (const byte of encoder.encode(text)) binary += String.fromCharCode(byte);
  return (globalThis as unknown as { btoa(data: string): string }).btoa(binary);
}

/** Starts a CONNECT proxy on the runtime's own sockets; `credentials` (`user:password`) demand basic auth. */
export async function startProxy(runtime: RuntimeUnderTest, credentials?: string): Promise<Proxy> {
  const tunnels: string[] = [];
  const open = new Set<Transport>();
  const track = (transport: Transport): void => {
    open.add(transport);
  };
  const server = await runtime.serveTcp((client) => {
    track(client);
    let head = '';
    const refuse = (answer: string): void => {
      client.write(encoder.encode(answer));
      client.end();
    };
    client.start({
      data: (chunk) => {
        head += decoder.decode(chunk);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        client.pause();
        const [line, ...headers] = head.slice(0, end).split('\r\n');
        const rest = encoder.encode(head.slice(end + 4));
        const [method, target] = line!.split(' ');
        if (method !== 'CONNECT' || target === undefined) {
          refuse('HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n');
          return;
        }
        if (credentials !== undefined) {
          const expected = `basic ${base64(credentials)}`;
          const given = headers.find((h) => h.toLowerCase().startsWith('proxy-authorization:'));
          if (given?.slice('proxy-authorization:'.length).trim().toLowerCase() !== expected.toLowerCase()) {
            refuse(
              'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n',
            );
            return;
          }
        }
        tunnels.push(target);
        const colon = target.lastIndexOf(':');
        const controller = new web.AbortController();
        runtime.connect({
          hostname: target.slice(0, colon).replace(/^\[|\]$/g, ''),
          port: Number(target.slice(colon + 1)),
          tls: null,
          signal: controller.signal,
        }).then((upstream) => {
          track(upstream);
          pipe(client, upstream, open);
          pipe(upstream, client, open);
          client.write(encoder.encode('HTTP/1.1 200 Connection Established\r\n\r\n'));
          if (rest.length > 0) upstream.write(rest);
          client.resume();
          upstream.resume();
        }, () => refuse('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n'));
      },
      end: () => client.end(),
      drain: () => {},
      closed: () => open.delete(client),
    }, { writeHighWaterMark: 64 * 1024 });
    client.resume();
  });
  const auth = credentials === undefined ? '' : `${credentials}@`;
  return {
    url: `http://${auth}127.0.0.1:${server.port}`,
    port: server.port,
    tunnels,
    close: async () => {
      for (const transport of open) transport.destroy();
      await server.close();
    },
  };
}

/** Copies `from` into `to` with backpressure; EOF and closing propagate. */
function pipe(from: Transport, to: Transport, open: Set<Transport>): void {
  from.start({
    data: (chunk) => {
      if (!to.write(chunk)) from.pause();
    },
    end: () => to.end(),
    // Our own write buffer drained: the opposite pipe, which paused `to` when we were full, may go on.
    drain: () => to.resume(),
    closed: () => {
      open.delete(from);
      to.destroy();
    },
  }, { writeHighWaterMark: 64 * 1024 });
}
