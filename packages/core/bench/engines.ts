/**
 * The contenders: each is a closure that does one unit of work (feed a whole chunked frame stream, or send
 * a batch of messages) and returns the number of messages it saw, so the runner can check it.
 */

import { Buffer, isUtf8 } from 'node:buffer';
import { createRequire } from 'node:module';
import {
  ClientConnection,
  computeAccept,
  type ConnectionOptions,
  getHeader,
  type Masker,
  ServerConnection,
} from '@sansws/core';
import type { ChunkedStream } from './inputs.ts';
import type { WsInstance } from './ws.ts';

export interface Contender {
  readonly id: string;
  readonly label: string;
  /** Not one of the contenders the targets are about; shown for context. */
  readonly informational: boolean;
  /** Does one unit of work; returns the number of messages seen or sent. */
  run(): number;
  /** Runs once more and checks the output bytes or messages; throws on a mismatch. */
  verify(): void;
}

/** What one cell receives or sends. */
export interface Message {
  readonly type: 'text' | 'binary';
  readonly text: string;
  readonly bytes: Uint8Array;
}

const HANDSHAKE_REQUEST = new TextEncoder().encode(
  'GET /bench HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
);

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

function mismatch(label: string, what: string): Error {
  return new Error(`${label}: ${what}`);
}

/** A ServerConnection opened by a real handshake request and `accept()`. */
export function openServer(options: ConnectionOptions = {}): ServerConnection {
  const conn = new ServerConnection(options);
  conn.receiveData(HANDSHAKE_REQUEST.slice());
  const outcome = conn.accept();
  if (!outcome.ok) throw new Error(`handshake refused: ${outcome.error.message}`);
  conn.takeOutput();
  conn.takeEvents();
  if (conn.state !== 'open') throw new Error(`server connection is ${conn.state}, not open`);
  return conn;
}

/** A ClientConnection opened by feeding it a valid 101 response to its own request. */
export function openClient(options: ConnectionOptions = {}): ClientConnection {
  const conn = new ClientConnection({ ...options, url: 'ws://localhost/bench' });
  conn.takeOutput();
  const key = getHeader(conn.request.headers, 'sec-websocket-key');
  if (key === undefined) throw new Error('client request has no Sec-WebSocket-Key');
  conn.receiveData(
    new TextEncoder().encode(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${computeAccept(key)}\r\n\r\n`,
    ),
  );
  conn.takeEvents();
  if (conn.state !== 'open') throw new Error(`client connection is ${conn.state}, not open`);
  return conn;
}

// ---- receive ---------------------------------------------------------------------------------------

/** Baseline: copy every chunk into a preallocated buffer of the stream's size, and nothing else. */
export function copyBaseline(stream: ChunkedStream, messages: number): Contender {
  const target = new Uint8Array(stream.totalBytes);
  const run = (): number => {
    let offset = 0;
    for (const chunk of stream.chunks) {
      target.set(chunk, offset);
      offset += chunk.length;
    }
    return messages;
  };
  return {
    id: 'copy',
    label: 'copy baseline (TypedArray#set)',
    informational: false,
    run,
    verify: () => {
      stream.restore();
      run();
    },
  };
}

/** Our engine's receiveData, events taken (and dropped) after every chunk. */
export function oursReceive(
  id: string,
  label: string,
  stream: ChunkedStream,
  message: Message,
  options: ConnectionOptions,
): Contender {
  const conn = openServer(options);
  const run = (): number => {
    let count = 0;
    for (const chunk of stream.chunks) {
      conn.receiveData(chunk);
      count += conn.takeEvents().length;
    }
    return count;
  };
  return {
    id,
    label,
    informational: false,
    run,
    verify: () => {
      stream.restore();
      let last: unknown;
      for (const chunk of stream.chunks) {
        conn.receiveData(chunk);
        for (const event of conn.takeEvents()) {
          if (event.type !== message.type) throw mismatch(label, `unexpected ${event.type} event`);
          last = event.data;
        }
      }
      if (conn.state !== 'open') throw mismatch(label, `connection is ${conn.state}`);
      const ok = message.type === 'text'
        ? last === message.text
        : last instanceof Uint8Array && equalBytes(last, message.bytes);
      if (!ok) throw mismatch(label, 'last message differs from what was sent');
    },
  };
}

/** What `@sansws/node` (and `@sansws/bun`) inject into the engine: node:buffer's isUtf8 as `validateUtf8`. */
export const withNodeIsUtf8: ConnectionOptions = { validateUtf8: isUtf8 };

/** Message buffers from node:buffer's unzeroed allocator, as plain Uint8Arrays (what the Node adapter does). */
export function allocateUnzeroed(byteLength: number): Uint8Array {
  return new Uint8Array(Buffer.allocUnsafeSlow(byteLength).buffer, 0, byteLength);
}

/** bufferutil's `mask` (native here: the bench reports whether it loaded), what `@sansws/node` injects. */
export const bufferutilMask = (createRequire(import.meta.url)('bufferutil') as { mask: Masker }).mask;

/** What `@sansws/node` injects now: `isUtf8`, the unzeroed allocator and bufferutil's `mask`. */
export const withNodeOptions: ConnectionOptions = {
  validateUtf8: isUtf8,
  allocate: allocateUnzeroed,
  mask: bufferutilMask,
};

/** ws's Receiver (a Writable), written every chunk as ws's WebSocket does with socket data. */
export function wsReceive(
  id: string,
  label: string,
  ws: WsInstance,
  stream: ChunkedStream,
  message: Message,
  decodeText: boolean,
): Contender {
  const receiver = new ws.Receiver({ isServer: true });
  let count = 0;
  let failure: Error | null = null;
  let last: Buffer | null = null;
  let keep = false;
  // What the text row decodes is kept reachable so the work cannot be optimised away.
  let sink = '';
  receiver.on('error', (error) => {
    failure = error;
  });
  receiver.on(
    'message',
    decodeText
      ? (data, isBinary) => {
        if (!isBinary) sink = data.toString();
        count++;
        if (keep) last = data;
      }
      : (data) => {
        count++;
        if (keep) last = data;
      },
  );
  const run = (): number => {
    count = 0;
    for (const chunk of stream.chunks) receiver.write(chunk);
    if (failure !== null) throw failure;
    return count;
  };
  return {
    id,
    label,
    informational: decodeText,
    run,
    verify: () => {
      stream.restore();
      keep = true;
      run();
      keep = false;
      const data: Buffer | null = last;
      if (data === null || !equalBytes(data, message.bytes)) {
        throw mismatch(label, 'last message differs from what was sent');
      }
      if (decodeText && sink !== message.text) throw mismatch(label, 'decoded text differs');
    },
  };
}

// ---- send ------------------------------------------------------------------------------------------

/** Unmasks one masked frame and checks its header and payload. */
function checkMaskedFrame(
  label: string,
  pieces: readonly Uint8Array[],
  opcode: number,
  payload: Uint8Array,
): void {
  const frame = Buffer.concat(pieces);
  if (frame[0] !== (0x80 | opcode)) throw mismatch(label, `first byte ${frame[0]}`);
  if ((frame[1]! & 0x80) === 0) throw mismatch(label, 'frame is not masked');
  const short = frame[1]! & 0x7f;
  let offset = 2;
  let length = short;
  if (short === 126) {
    length = frame.readUInt16BE(2);
    offset = 4;
  } else if (short === 127) {
    length = Number(frame.readBigUInt64BE(2));
    offset = 10;
  }
  const key = frame.subarray(offset, offset + 4);
  const body = frame.subarray(offset + 4);
  if (length !== payload.length || body.length !== length) throw mismatch(label, 'wrong length');
  for (let i = 0; i < length; i++) body[i]! ^= key[i & 3]!;
  if (!equalBytes(body, payload)) throw mismatch(label, 'payload differs after unmasking');
}

/** Our ClientConnection: sendText / sendBinary, then takeOutput() (dropped). */
export function oursSend(
  message: Message,
  batch: number,
  options: ConnectionOptions = {},
  id = 'ours',
  label = 'ours (ClientConnection)',
): Contender {
  const conn = openClient(options);
  const payload = message.bytes.slice();
  const text = message.text;
  const isText = message.type === 'text';
  const run = (): number => {
    if (isText) {
      for (let i = 0; i < batch; i++) {
        conn.sendText(text);
        conn.takeOutput();
      }
    } else {
      for (let i = 0; i < batch; i++) {
        conn.sendBinary(payload);
        conn.takeOutput();
      }
    }
    return batch;
  };
  return {
    id,
    label,
    informational: false,
    run,
    verify: () => {
      if (message.type === 'text') conn.sendText(text);
      else conn.sendBinary(payload);
      checkMaskedFrame(id, conn.takeOutput(), message.type === 'text' ? 1 : 2, message.bytes);
      if (!equalBytes(payload, message.bytes)) {
        throw mismatch(id, "sendBinary modified the caller's data");
      }
    },
  };
}

/**
 * ws's static Sender.frame with `mask: true`. Options as ws's own `send()` passes them: a string is
 * encoded into a fresh Buffer that is masked in place (`readOnly: false`); a caller's Buffer is
 * `readOnly: true`, so ws copies it into the frame while masking (it must not modify the caller's data,
 * which is also what our engine guarantees). `inPlace` masks the caller's Buffer instead (no copy).
 */
export function wsSend(
  id: string,
  label: string,
  ws: WsInstance,
  message: Message,
  batch: number,
  inPlace = false,
): Contender {
  const opcode = message.type === 'text' ? 1 : 2;
  const data: Buffer | string = message.type === 'text' ? message.text : Buffer.from(message.bytes);
  const options = {
    fin: true,
    rsv1: false,
    opcode,
    mask: true,
    readOnly: message.type === 'binary' && !inPlace,
  };
  const Sender = ws.Sender;
  const run = (): number => {
    for (let i = 0; i < batch; i++) Sender.frame(data, options);
    return batch;
  };
  return {
    id,
    label,
    informational: inPlace,
    run,
    verify: () => {
      if (inPlace) {
        // The caller's buffer is masked in place: check a copy.
        const copy = Buffer.from(message.bytes);
        checkMaskedFrame(label, Sender.frame(copy, options), opcode, message.bytes);
        return;
      }
      checkMaskedFrame(label, Sender.frame(data, options), opcode, message.bytes);
      if (typeof data !== 'string' && !equalBytes(data, message.bytes)) {
        throw mismatch(label, "frame() modified the caller's data");
      }
    },
  };
}
