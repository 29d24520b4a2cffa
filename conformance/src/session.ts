/**
 * One case's connection, from the suite's side: Autobahn's fuzzing protocol, in either role.
 *
 * Theory of operation. A case script (cases/*.ts) calls the commands (`sendFrame`, `sendMessage`,
 * `sendClose`, `continueLater`, `killAfter`, `closeAfter`) and sets what it expects. Bytes go out through
 * one ordered queue, so a script may issue commands back to back; `chop` and `sync` send pieces in
 * separate writes (each awaited, with a turn of the event loop in between) so they leave in separate TCP
 * segments, as Autobahn's do. Everything the peer sends is parsed by the suite's own reader and judged by the
 * rules below: a peer that breaks RFC 6455 (a masked frame from a server, a bad close code, invalid UTF-8,
 * a reserved opcode...) is a `violation`, which fails the case whatever else happened. Observed messages,
 * pings and pongs go to `received`, which the evaluation compares with the expected outcomes; the case may
 * take messages itself (`onMessage`) for bulk cases. The connection ends when the socket closes; until
 * then every wait is bounded (close handshake, TCP close, and the runner's per-case deadline).
 */

import { Buffer } from 'node:buffer';
import type net from 'node:net';
import { concat, isUtf8, repeatTo, toDisplayText, toHex, utf8 } from './bytes.ts';
import { type DeflateAgreement, MessageCodec } from './deflate.ts';
import { closePayload, encodeFrame, FrameReader, isControl, Op, type RawFrame } from './frame.ts';

/** Something the peer did that the cases compare (Autobahn's `received` list). */
export type Observed =
  | { readonly type: 'message'; readonly binary: boolean; readonly data: Uint8Array }
  | { readonly type: 'ping'; readonly data: Uint8Array }
  | { readonly type: 'pong'; readonly data: Uint8Array }
  | { readonly type: 'timeout'; readonly tag: string };

/** One line of the traffic log. `t` is milliseconds since the connection opened. */
export type WireEntry =
  | { readonly t: number; readonly kind: 'tx' | 'rx'; readonly hex: string; readonly length: number }
  | {
    readonly t: number;
    readonly kind: 'tx-frame' | 'rx-frame';
    readonly opcode: number;
    readonly fin: boolean;
    readonly rsv: number;
    readonly masked: boolean;
    readonly length: number;
    readonly payload: string;
    readonly chop?: number;
  }
  | { readonly t: number; readonly kind: 'note'; readonly text: string };

/** Keeps the traffic, bounded: the first entries in full, then only a count. */
export class WireLog {
  readonly entries: WireEntry[] = [];
  dropped = 0;
  enabled = true;
  readonly #start = performance.now();
  readonly #max: number;

  constructor(max = 400) {
    this.#max = max;
  }

  get now(): number {
    return Math.round((performance.now() - this.#start) * 10) / 10;
  }

  add(entry: WireEntry): void {
    if (!this.enabled && entry.kind !== 'note') return;
    if (this.entries.length < this.#max) this.entries.push(entry);
    else this.dropped++;
  }

  note(text: string): void {
    this.add({ t: this.now, kind: 'note', text });
  }
}

/** Who is expected to close, and with which codes (Autobahn's `expectedClose`). */
export interface ExpectedClose {
  /** True when the suite starts the closing handshake (or fails the connection) itself. */
  readonly closedByMe: boolean;
  /** Acceptable close codes from the peer (no code at all is always acceptable, as in Autobahn). */
  readonly codes: readonly number[];
  /** The closing handshake must complete (both close frames). */
  readonly requireClean: boolean;
}

/** Outcome classes, as Autobahn's. */
export type Behavior = 'OK' | 'NON-STRICT' | 'INFORMATIONAL' | 'UNIMPLEMENTED' | 'FAILED';
/** Close outcome classes, as Autobahn's. */
export type CloseBehavior = 'OK' | 'FAILED' | 'UNCLEAN' | 'WRONG CODE' | 'FAILED BY CLIENT' | 'INFORMATIONAL';

/** Options of a frame sent by a case. */
export interface SendFrameOptions {
  readonly opcode: number;
  readonly fin?: boolean;
  readonly rsv?: number;
  /** Payload bytes, or a string sent as UTF-8. */
  readonly payload?: Uint8Array | string;
  /** Repeat `payload` to exactly this many bytes (Autobahn's `payload_len`). */
  readonly payloadLen?: number;
  /** Send the frame's bytes in pieces of this size, each in its own write. */
  readonly chop?: number;
  /** Send the frame in its own write, awaited before the next. */
  readonly sync?: boolean;
  /** Override masking (default: masked with a random key in the client role only). */
  readonly mask?: boolean;
}

/** Options of a message sent by a case. */
export interface SendMessageOptions {
  /** Split into frames of this many payload bytes (after compression, when compressed). */
  readonly fragmentSize?: number;
  /** Send the bytes in pieces of this size. */
  readonly chop?: number;
  /** Compress when permessage-deflate was agreed. Default true. */
  readonly compress?: boolean;
}

/** Settings of a session. */
export interface SessionOptions {
  readonly role: 'client' | 'server';
  readonly deflate: DeflateAgreement | null;
  /** Milliseconds per Autobahn second for the cases' waits (1000 full, less in quick mode). */
  readonly unit: number;
  /** How long to wait for the peer's close frame, and then for the TCP close, in ms. */
  readonly closeTimeout: number;
  /** Largest message accepted from the peer. */
  readonly maxMessage: number;
  readonly log: WireLog;
}

const CLOSE_CODES_OK = (code: number) =>
  (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);

/** The suite's end of one connection. */
export class Session {
  readonly role: 'client' | 'server';
  readonly log: WireLog;
  readonly deflate: DeflateAgreement | null;
  readonly #socket: net.Socket;
  readonly #options: SessionOptions;
  readonly #reader: FrameReader;
  readonly #codec: MessageCodec | null;

  /** What the peer did, in order. */
  readonly received: Observed[] = [];
  /** Expected outcomes by class; the first that equals `received` wins, in OK, NON-STRICT, ... order. */
  expected: Partial<Record<Behavior, Observed[]>> = {};
  expectedClose: ExpectedClose = { closedByMe: true, codes: [1000], requireClean: true };
  /** Set by cases that judge the outcome themselves (bulk cases); otherwise computed from `expected`. */
  behavior: Behavior | undefined;
  result = '';
  /** Do not start the closing handshake when the expected events arrived. */
  suppressClose = false;
  /** Replaces the default handling (recording) of whole messages. */
  onMessage: ((data: Uint8Array, binary: boolean) => void) | undefined;

  state: 'open' | 'closing' | 'closed' = 'open';
  closeSent = false;
  closeReceived = false;
  /** Who started the closing handshake (or failed the connection): undefined while nobody has. */
  closedByMe: boolean | undefined;
  /** The suite dropped the TCP connection itself (e.g. the server did not close it after the handshake). */
  droppedByMe = false;
  remoteCloseCode: number | undefined;
  remoteCloseReason: string | undefined;
  /** The first RFC 6455 violation of the peer the suite noticed. */
  violation: string | undefined;
  /** Frames and octets sent, per opcode (Autobahn's traffic stats). */
  readonly txFrames: Map<number, number> = new Map<number, number>();
  readonly startedAt: number = performance.now();
  endedAt = 0;

  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #queue: Promise<void> = Promise.resolve();
  #corked = false;
  #message: { opcode: number; compressed: boolean; parts: Uint8Array[]; size: number } | undefined;
  #resolveDone!: () => void;
  /** Resolves when the TCP connection is closed. */
  readonly done: Promise<void> = new Promise((resolve) => (this.#resolveDone = resolve));

  constructor(socket: net.Socket, options: SessionOptions) {
    this.#socket = socket;
    this.#options = options;
    this.role = options.role;
    this.log = options.log;
    this.deflate = options.deflate;
    this.#reader = new FrameReader(options.maxMessage + 1024);
    this.#codec = options.deflate
      ? new MessageCodec(options.deflate, options.role, options.maxMessage)
      : null;
    socket.setNoDelay(true);
    socket.on(
      'data',
      (data: Buffer) => this.receive(new Uint8Array(data.buffer, data.byteOffset, data.length)),
    );
    socket.on('error', (error) => this.log.note(`socket error: ${error.message}`));
    socket.on('close', () => this.#onTcpClose());
  }

  /** Milliseconds for a wait given in Autobahn seconds. */
  ms(seconds: number): number {
    return seconds * this.#options.unit;
  }

  // ---- receiving --------------------------------------------------------------------------------------

  /** Feeds bytes from the peer (also used for bytes that arrived with the handshake). */
  receive(data: Uint8Array): void {
    if (data.length === 0) return;
    this.log.add({ t: this.log.now, kind: 'rx', hex: toHex(data, 128), length: data.length });
    if (this.state === 'closed') return;
    this.#reader.push(data.slice());
    for (;;) {
      const frame = this.#reader.next();
      if (frame === undefined) return;
      if (typeof frame === 'string') return this.#fail(frame);
      this.#onFrame(frame);
      if (this.violation !== undefined) return;
    }
  }

  #onFrame(f: RawFrame): void {
    this.log.add({
      t: this.log.now,
      kind: 'rx-frame',
      opcode: f.opcode,
      fin: f.fin,
      rsv: f.rsv,
      masked: f.masked,
      length: f.payload.length,
      payload: f.opcode === Op.binary || f.rsv !== 0 ? toHex(f.payload, 64) : toDisplayText(f.payload, 128),
    });
    if (this.closeReceived) {
      return this.#fail("frame received after the peer's close frame (RFC 6455 §5.5.1)");
    }
    // RFC 6455 §5.1: a server must not mask, a client must mask.
    if (this.role === 'client' && f.masked) return this.#fail('server sent a masked frame (RFC 6455 §5.1)');
    if (this.role === 'server' && !f.masked) {
      return this.#fail('client sent an unmasked frame (RFC 6455 §5.1)');
    }
    if (f.nonMinimalLength) return this.#fail('frame length not in its minimal encoding (RFC 6455 §5.2)');
    const known = [Op.continuation, Op.text, Op.binary, Op.close, Op.ping, Op.pong] as number[];
    if (!known.includes(f.opcode)) return this.#fail(`reserved opcode ${f.opcode} (RFC 6455 §5.2)`);
    const compressedStart = this.#codec !== null && f.rsv === 4 &&
      (f.opcode === Op.text || f.opcode === Op.binary);
    if (f.rsv !== 0 && !compressedStart) {
      return this.#fail(`RSV bits ${f.rsv} set (RFC 6455 §5.2, RFC 7692 §6)`);
    }
    if (isControl(f.opcode)) {
      if (!f.fin) return this.#fail('fragmented control frame (RFC 6455 §5.5)');
      if (f.payload.length > 125) return this.#fail('control frame payload over 125 bytes (RFC 6455 §5.5)');
      if (f.opcode === Op.ping) {
        this.#observe({ type: 'ping', data: f.payload });
        if (!this.closeSent) this.sendFrame({ opcode: Op.pong, payload: f.payload });
      } else if (f.opcode === Op.pong) {
        this.#observe({ type: 'pong', data: f.payload });
      } else {
        this.#onClose(f.payload);
      }
      return;
    }
    if (f.opcode === Op.continuation) {
      if (!this.#message) {
        return this.#fail('continuation frame without a message to continue (RFC 6455 §5.4)');
      }
    } else {
      if (this.#message) return this.#fail('new data frame inside a fragmented message (RFC 6455 §5.4)');
      this.#message = { opcode: f.opcode, compressed: compressedStart, parts: [], size: 0 };
    }
    const m = this.#message!;
    m.parts.push(f.payload);
    m.size += f.payload.length;
    if (m.size > this.#options.maxMessage) return this.#fail('message larger than the suite accepts');
    if (!f.fin) return;
    this.#message = undefined;
    let data = concat(m.parts);
    if (m.compressed) {
      const plain = this.#codec!.decompress(data);
      if (typeof plain === 'string') return this.#fail(plain);
      data = plain;
    }
    const binary = m.opcode === Op.binary;
    if (!binary && !isUtf8(data)) return this.#fail('text message is not valid UTF-8 (RFC 6455 §8.1)', 1007);
    if (this.closeSent && this.log.enabled) this.log.note('message received while closing');
    if (this.onMessage) this.onMessage(data, binary);
    else this.#observe({ type: 'message', binary, data });
  }

  #onClose(payload: Uint8Array): void {
    this.closeReceived = true;
    let code: number | undefined;
    if (payload.length === 1) return this.#fail('close frame with a 1-byte payload (RFC 6455 §5.5.1)');
    if (payload.length >= 2) {
      code = (payload[0]! << 8) | payload[1]!;
      const reason = payload.subarray(2);
      this.remoteCloseCode = code;
      this.remoteCloseReason = toDisplayText(reason);
      if (!CLOSE_CODES_OK(code)) return this.#fail(`close code ${code} is not one to send (RFC 6455 §7.4)`);
      if (!isUtf8(reason)) return this.#fail('close reason is not valid UTF-8 (RFC 6455 §5.5.1)', 1007);
    }
    if (this.closedByMe === undefined) this.closedByMe = false;
    if (!this.closeSent) {
      // Echo the peer's code, as the RFC suggests (§5.5.1).
      this.#sendCloseFrame(closePayload(code));
    }
    this.state = 'closing';
    this.#afterHandshake();
  }

  /** Both close frames crossed: the server closes the TCP connection first (RFC 6455 §7.1.1). */
  #afterHandshake(): void {
    if (this.role === 'server') {
      this.#queue = this.#queue.then(() => void this.#socket.end());
      this.#timer(this.#options.closeTimeout, () => this.#drop('client did not close the TCP connection'));
    } else {
      this.#timer(this.#options.closeTimeout, () => {
        this.droppedByMe = true;
        this.#drop('server did not close the TCP connection after the closing handshake');
      });
    }
  }

  #observe(event: Observed): void {
    this.received.push(event);
    this.#finishWhenDone();
  }

  /** Once the expected events arrived, close as the case expects (Autobahn's `finishWhenDone`). */
  #finishWhenDone(): void {
    const ok = this.expected.OK;
    if (!ok || this.suppressClose || !this.expectedClose.closedByMe || this.state !== 'open') return;
    if (equalObserved(this.received, ok)) this.sendClose(this.expectedClose.codes[0] ?? 1000);
  }

  /** The peer broke the protocol: note it, fail the connection (RFC 6455 §7.1.7) and drop it. */
  #fail(reason: string, code = 1002): void {
    if (this.violation === undefined) this.violation = reason;
    this.log.note(`peer violation: ${reason}`);
    if (this.closedByMe === undefined) this.closedByMe = true;
    if (!this.closeSent && this.state !== 'closed') this.#sendCloseFrame(closePayload(code));
    this.state = 'closing';
    this.#queue = this.#queue.then(() => void this.#socket.end());
    this.#timer(this.#options.closeTimeout, () => this.#drop('closing after a violation'));
  }

  #onTcpClose(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.endedAt = performance.now();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.log.note('TCP connection closed');
    this.#resolveDone();
  }

  #drop(reason: string): void {
    if (this.state === 'closed') return;
    this.log.note(`dropping TCP connection: ${reason}`);
    this.#socket.destroy();
  }

  // ---- sending ----------------------------------------------------------------------------------------

  /** Sends one frame exactly as specified. */
  sendFrame(options: SendFrameOptions): void {
    this.#write(this.frameBytes(options), options.chop, options.sync ?? false);
  }

  /** The bytes of a frame as `sendFrame` would send them (logged as sent); for cases that cut frames. */
  frameBytes(options: SendFrameOptions): Uint8Array {
    let payload = typeof options.payload === 'string'
      ? utf8(options.payload)
      : options.payload ?? new Uint8Array(0);
    if (options.payloadLen !== undefined) payload = repeatTo(payload, options.payloadLen);
    const mask = options.mask ?? this.role === 'client';
    const frame = encodeFrame({
      opcode: options.opcode,
      fin: options.fin ?? true,
      rsv: options.rsv ?? 0,
      payload,
      mask,
    });
    this.txFrames.set(options.opcode, (this.txFrames.get(options.opcode) ?? 0) + 1);
    this.log.add({
      t: this.log.now,
      kind: 'tx-frame',
      opcode: options.opcode,
      fin: options.fin ?? true,
      rsv: options.rsv ?? 0,
      masked: mask,
      length: payload.length,
      payload: options.opcode === Op.binary || (options.rsv ?? 0) !== 0
        ? toHex(payload, 64)
        : toDisplayText(payload, 128),
      ...(options.chop ? { chop: options.chop } : {}),
    });
    return frame;
  }

  /** Sends raw bytes (e.g. a frame split across writes at chosen points). */
  sendRaw(data: Uint8Array, sync = true): void {
    this.#write(data, undefined, sync);
  }

  /** Sends a message, fragmented and compressed as asked. */
  sendMessage(payload: Uint8Array | string, binary: boolean, options: SendMessageOptions = {}): void {
    let data = typeof payload === 'string' ? utf8(payload) : payload;
    const compress = this.#codec !== null && (options.compress ?? true);
    if (compress) data = this.#codec!.compress(data);
    const size = options.fragmentSize && options.fragmentSize > 0 ? options.fragmentSize : data.length || 1;
    const pieces: Uint8Array[] = [];
    for (let i = 0; i < data.length; i += size) pieces.push(data.subarray(i, i + size));
    if (pieces.length === 0) pieces.push(data);
    pieces.forEach((piece, i) =>
      this.sendFrame({
        opcode: i === 0 ? (binary ? Op.binary : Op.text) : Op.continuation,
        fin: i === pieces.length - 1,
        rsv: i === 0 && compress ? 4 : 0,
        payload: piece,
        ...(options.chop ? { chop: options.chop } : {}),
      })
    );
  }

  /** Starts the closing handshake (no-op unless open). */
  sendClose(code?: number, reason?: Uint8Array | string): void {
    if (this.state !== 'open') return;
    const r = typeof reason === 'string' ? utf8(reason) : reason;
    this.sendCloseFrame(code, r);
  }

  /** Sends a close frame whatever the state; the first one starts the closing handshake. */
  sendCloseFrame(code?: number, reason?: Uint8Array, rawPayload?: Uint8Array): void {
    this.#sendCloseFrame(rawPayload ?? closePayload(code, reason));
  }

  #sendCloseFrame(payload: Uint8Array): void {
    const first = !this.closeSent;
    this.sendFrame({ opcode: Op.close, payload });
    if (!first) return;
    this.closeSent = true;
    if (this.closedByMe === undefined) this.closedByMe = true;
    if (this.state === 'open') {
      this.state = 'closing';
      // Wait for the peer's close frame, then for the TCP close; bounded.
      this.#timer(this.#options.closeTimeout, () => this.#drop('no close frame from the peer in time'));
    }
  }

  #write(data: Uint8Array, chopSize: number | undefined, sync: boolean): void {
    const pieces: Uint8Array[] = [];
    if (chopSize && chopSize > 0) {
      for (let i = 0; i < data.length; i += chopSize) pieces.push(data.subarray(i, i + chopSize));
    } else pieces.push(data);
    const separate = sync || pieces.length > 1;
    this.#queue = this.#queue.then(async () => {
      for (const piece of pieces) {
        if (this.#socket.destroyed || this.#socket.writableEnded) return;
        this.log.add({ t: this.log.now, kind: 'tx', hex: toHex(piece, 128), length: piece.length });
        if (!separate) {
          // Frames sent back to back leave in one write, as Autobahn's (Twisted buffers a reactor turn).
          if (!this.#corked) {
            this.#corked = true;
            this.#socket.cork();
            setImmediate(() => {
              this.#corked = false;
              this.#socket.uncork();
            });
          }
          this.#socket.write(piece);
          continue;
        }
        await new Promise<void>((resolve) => this.#socket.write(piece, () => resolve()));
        // A turn of the event loop, so that the next piece leaves in a segment of its own.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    });
  }

  // ---- timing -----------------------------------------------------------------------------------------

  #timer(ms: number, fn: () => void): void {
    if (this.state === 'closed') return;
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
  }

  /**
   * After `seconds` (Autobahn seconds), if the connection is still open, records `('timeout', tag)` when a
   * tag is given and runs `fn` (Autobahn's `continueLater`).
   */
  continueLater(seconds: number, fn: () => void, tag?: string): void {
    this.log.note(`continue after ${this.ms(seconds)} ms${tag ? ` (${tag})` : ''}`);
    this.#timer(this.ms(seconds), () => {
      if (this.state !== 'open') return;
      this.log.note(`continuing${tag ? ` (${tag})` : ''}`);
      if (tag !== undefined) this.received.push({ type: 'timeout', tag });
      fn();
    });
  }

  /**
   * After `seconds` (real seconds: a safety net that costs nothing when the peer behaves, so never scaled
   * down), if still open, the suite fails the connection itself (Autobahn's `killAfter`).
   */
  killAfter(seconds: number): void {
    this.log.note(`kill after ${seconds * 1000} ms`);
    this.#timer(seconds * 1000, () => {
      if (this.state === 'closed') return;
      this.log.note('killing the connection');
      if (this.closedByMe === undefined) this.closedByMe = true;
      this.#drop('kill timer');
    });
  }

  /**
   * After `seconds`, if still open, starts the closing handshake with 1000 (Autobahn's `closeAfter`).
   * `scaled` false takes real seconds (the deadlines of bulk cases).
   */
  closeAfter(seconds: number, scaled = true): void {
    const ms = scaled ? this.ms(seconds) : seconds * 1000;
    this.log.note(`close after ${ms} ms`);
    this.#timer(ms, () => {
      if (this.state !== 'open') return;
      this.log.note('closing');
      this.sendClose(1000);
    });
  }

  /** Ends the case now (the runner's deadline). */
  abort(reason: string): void {
    this.log.note(reason);
    if (this.closedByMe === undefined) this.closedByMe = true;
    this.#drop(reason);
  }
}

/** Event-wise equality of observed lists (bytes compared exactly). */
export function equalObserved(a: readonly Observed[], b: readonly Observed[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.type !== y.type) return false;
    if (x.type === 'timeout') {
      if (x.tag !== (y as typeof x).tag) return false;
      continue;
    }
    if (x.type === 'message' && x.binary !== (y as typeof x).binary) return false;
    if (!Buffer.from(x.data).equals(Buffer.from((y as typeof x).data))) return false;
  }
  return true;
}
