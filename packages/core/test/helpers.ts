/**
 * Test helpers: an independent frame writer (never the engine's), engines opened in memory, and small
 * domain assertions.
 */

import { expect } from 'vitest';
import {
  ClientConnection,
  type ClientConnectionOptions,
  type ClosedEvent,
  type Connection,
  ServerConnection,
  type ServerConnectionOptions,
  type WebSocketEvent,
} from '../src/mod.ts';

export interface FrameSpec {
  fin?: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
  opcode: number;
  payload?: Uint8Array | string;
  /** A masking key, or false for an unmasked frame. Default: masked with 01 02 03 04. */
  mask?: Uint8Array | false;
  /** Force the 16- or 64-bit length form. */
  lengthForm?: 7 | 16 | 64;
}

const encoder = new TextEncoder();

export function bytes(value: Uint8Array | string | number[]): Uint8Array {
  if (typeof value === 'string') return encoder.encode(value);
  return value instanceof Uint8Array ? value : Uint8Array.from(value);
}

/** Builds one frame byte by byte, as RFC 6455 §5.2 draws it. */
export function frame(spec: FrameSpec): Uint8Array {
  const payload = bytes(spec.payload ?? new Uint8Array(0));
  const mask = spec.mask === undefined ? Uint8Array.of(1, 2, 3, 4) : spec.mask;
  const out: number[] = [];
  out.push(
    (spec.fin === false ? 0 : 0x80) | (spec.rsv1 ? 0x40 : 0) | (spec.rsv2 ? 0x20 : 0) |
      (spec.rsv3 ? 0x10 : 0) |
      spec.opcode,
  );
  const maskBit = mask === false ? 0 : 0x80;
  const n = payload.length;
  const form = spec.lengthForm ?? (n < 126 ? 7 : n < 65536 ? 16 : 64);
  if (form === 7) out.push(maskBit | n);
  else if (form === 16) out.push(maskBit | 126, (n >> 8) & 0xff, n & 0xff);
  else {
    out.push(maskBit | 127);
    const high = Math.floor(n / 2 ** 32);
    for (const word of [high, n >>> 0]) {
      out.push((word >>> 24) & 0xff, (word >>> 16) & 0xff, (word >>> 8) & 0xff, word & 0xff);
    }
  }
  if (mask !== false) out.push(...mask);
  const result = new Uint8Array(out.length + n);
  result.set(out);
  for (let i = 0; i < n; i++) {
    result[out.length + i] = mask === false ? payload[i]! : payload[i]! ^ mask[i % 4]!;
  }
  return result;
}

export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const fatalDecoder = new TextDecoder('utf-8', { fatal: true });

/** The UTF-8 oracle for whole buffers: whether a fatal `TextDecoder` accepts `bytes`. */
/**
 * Byte equality, without the deep comparison `toEqual` makes element by element (slow on arrays of many KiB
 * inside property tests).
 */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function decoderAccepts(bytes: Uint8Array): boolean {
  try {
    fatalDecoder.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** A deterministic "random" source: 0, 1, 2, … */
export function countingRandom(): (buffer: Uint8Array) => void {
  let next = 0;
  return (buffer) => {
    for (let i = 0; i < buffer.length; i++) buffer[i] = next++ & 0xff;
  };
}

export const REQUEST =
  'GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

/** A server engine that has accepted a handshake and whose handshake output was taken. */
export function openServer(options: ServerConnectionOptions = {}): ServerConnection {
  const server = new ServerConnection(options);
  server.receiveData(bytes(REQUEST));
  server.accept();
  server.takeOutput();
  server.takeEvents();
  expect(server.state).toBe('open');
  return server;
}

/** A client engine that has completed its handshake against a server engine. */
export function openPair(
  serverOptions: ServerConnectionOptions = {},
  clientOptions: Partial<ClientConnectionOptions> = {},
): { server: ServerConnection; client: ClientConnection } {
  const client = new ClientConnection({ url: 'ws://example.com/chat', ...clientOptions });
  const server = new ServerConnection(serverOptions);
  for (const chunk of client.takeOutput()) server.receiveData(chunk);
  server.accept();
  for (const chunk of server.takeOutput()) client.receiveData(chunk);
  expect(server.state).toBe('open');
  expect(client.state).toBe('open');
  server.takeEvents();
  client.takeEvents();
  return { server, client };
}

/** An open client engine fed a canned 101 response. */
export function openClient(options: Partial<ClientConnectionOptions> = {}): ClientConnection {
  return openPair({}, options).client;
}

/** Moves everything `from` wants to write into `to`, optionally chopped into pieces of `chunk` bytes. */
export function pump(from: Connection, to: Connection, chunk = Infinity): number {
  let moved = 0;
  for (const data of from.takeOutput()) {
    moved += data.length;
    if (chunk === Infinity) to.receiveData(data.slice());
    else for (let i = 0; i < data.length; i += chunk) to.receiveData(data.slice(i, i + chunk));
  }
  return moved;
}

/** Feeds `data` to `conn` whole, one byte at a time, or in the given pieces. */
export function feed(conn: Connection, data: Uint8Array, mode: 'whole' | 'bytewise' = 'whole'): void {
  if (mode === 'whole') conn.receiveData(data.slice());
  else for (let i = 0; i < data.length; i++) conn.receiveData(data.slice(i, i + 1));
}

export function closedEvent(events: WebSocketEvent[]): ClosedEvent | undefined {
  return events.find((e): e is ClosedEvent => e.type === 'closed');
}

/** Asserts the connection failed with `code` (and sent a close frame with it). */
export function expectClosedWith(conn: Connection, code: number, events = conn.takeEvents()): ClosedEvent {
  const closed = closedEvent(events);
  expect(closed, 'a closed event').toBeDefined();
  expect(closed!.code).toBe(code);
  expect(conn.state).toBe('closed');
  return closed!;
}

/** Parses the frames a server wrote (unmasked) into opcode/payload pairs. */
export function serverFrames(
  data: Uint8Array[],
): { fin: boolean; rsv1: boolean; opcode: number; payload: Uint8Array }[] {
  return parseFrames(concatBytes(data));
}

export function parseFrames(
  all: Uint8Array,
): { fin: boolean; rsv1: boolean; opcode: number; payload: Uint8Array }[] {
  const frames = [];
  let i = 0;
  while (i < all.length) {
    const b0 = all[i]!, b1 = all[i + 1]!;
    let n = b1 & 0x7f;
    i += 2;
    if (n === 126) {
      n = (all[i]! << 8) | all[i + 1]!;
      i += 2;
    } else if (n === 127) {
      n = (all[i]! * 2 ** 24 + (all[i + 1]! << 16) + (all[i + 2]! << 8) + all[i + 3]!) * 2 ** 32 +
        ((all[i + 4]! << 24) >>> 0) + (all[i + 5]! << 16) + (all[i + 6]! << 8) + all[i + 7]!;
      i += 8;
    }
    let key: Uint8Array | null = null;
    if (b1 & 0x80) {
      key = all.slice(i, i + 4);
      i += 4;
    }
    const payload = all.slice(i, i + n);
    if (key) { for (let j = 0; j < n; j++) payload[j]! ^= key[j % 4]!; }
    i += n;
    frames.push({ fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0, opcode: b0 & 0x0f, payload });
  }
  return frames;
}

export function closeBody(code: number, reason = ''): Uint8Array {
  return concatBytes([Uint8Array.of(code >> 8, code & 0xff), bytes(reason)]);
}
