/**
 * The sans-I/O engine for one WebSocket connection (RFC 6455), in either role.
 *
 * Theory of operation. The engine never performs I/O and never reads a clock. Methods come in four kinds:
 *
 * - inputs: `receiveData(bytes, now?)`, `receiveEof()`, `handleTimeout(now)`;
 * - commands: `sendText`, `sendBinary`, `sendMessageStart` / `sendMessageChunk` / `sendMessageEnd`,
 *   `sendPing`, `sendPong`, `close`, `fail` (and `accept` / `reject` on the server);
 * - outputs: `takeOutput()` (bytes to write, in order), `transportAction` (what to do with the transport
 *   once those bytes are written), `takeEvents()` and `pollTimeout()` (the next deadline);
 * - getters: `state`, `role`, `subprotocol`, `extensions`.
 *
 * After every input or command, the caller writes `takeOutput()`, acts on `transportAction`, handles
 * `takeEvents()` and re-arms its timer to `pollTimeout()`. Time is whatever number the caller passes in
 * `now` (milliseconds of any monotonic clock); commands use the latest one seen.
 *
 * The engine answers pings and echoes close frames itself (RFC 6455 §5.5.2, §5.5.1) and still reports
 * them. Peer misbehaviour never throws: it closes the connection with the right code and a `closed`
 * event carrying the error. Local misuse throws a UsageError.
 */

import {
  HandshakeError,
  ProtocolError,
  type ProtocolErrorCode,
  usageError,
  type WebSocketError,
} from './errors.ts';
import type { TextEvent, WebSocketEvent } from './events.ts';
import {
  COPY_THRESHOLD,
  EMPTY,
  frameBuffer,
  headerSize,
  isValidReceivedCloseCode,
  MAX_CONTROL_PAYLOAD,
  NONE,
  OP_BINARY,
  OP_CLOSE,
  OP_CONTINUATION,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  writeHeader,
} from './frames.ts';
import { applyMask, type Masker } from './mask.ts';
import { getRandomValues, utf8Decoder, utf8Encoder } from './platform.ts';
import { isValidText, type MessageInflater, Receiver, type ReceiverHandler } from './receiver.ts';
import { type PreparedMessage, serverFrame } from './prepared.ts';
import { checkCommand, checkTransition, type Command, type ConnectionState } from './states.ts';
import { Utf8Validator } from './utf8.ts';

/** What the caller should do with the transport once it has written every byte taken so far. */
export type TransportAction = 'none' | 'end' | 'abort';

/** Per-message compression as the engine uses it (implemented by permessage-deflate). */
export interface MessageCompressor extends MessageInflater {
  /** Whether to compress a message of `byteLength` bytes (its first fragment's, when `fin` is false). */
  shouldCompress(byteLength: number, fin: boolean): boolean;
  /** Compresses a message, or one fragment of it (`fin` false until the last). */
  compress(data: Uint8Array, fin: boolean): Uint8Array;
  /** Frees codec state; called when the connection closes. */
  release(): void;
}

/** Options common to both roles. Every limit has a safe default. */
export interface ConnectionOptions {
  /** Largest message accepted, in (decompressed) bytes; bigger → close 1009. Default 16 MiB. */
  maxMessageSize?: number;
  /** Largest frame payload accepted; bigger → close 1009. Default: `maxMessageSize`. */
  maxFrameSize?: number;
  /** Largest handshake head (request or response line plus headers). Default 8 KiB (→ 431 / failure). */
  maxHandshakeSize?: number;
  /** Deliver messages as messageStart / messageChunk / messageEnd events instead of whole. Default false. */
  streaming?: boolean;
  /** How long to wait for the closing handshake to complete, in ms. Default 10 000. */
  closeTimeout?: number;
  /** Send a keepalive ping after this many ms without one; 0 disables. Default 0. */
  pingInterval?: number;
  /** Close (1006) when a keepalive ping is not answered within this many ms. Default `pingInterval`. */
  pongTimeout?: number;
  /** Answer pings with pongs automatically. Default true. */
  autoPong?: boolean;
  /** Source of random bytes for masking keys and handshake keys. Default `crypto.getRandomValues`. */
  randomBytes?: (buffer: Uint8Array) => void;
  /**
   * A faster UTF-8 validator to use instead of the core's own for received text of 64 bytes or more (the
   * Node and Bun adapters pass node:buffer `isUtf8`). It is given complete text that starts and ends between
   * code points, a view it must neither keep nor modify; a sequence cut by a chunk boundary is finished by
   * the core's incremental validator, so RFC 6455 §8.1 fail-fast is unchanged. Its `false` fails the
   * connection with 1007. A throw or an answer that is not a boolean counts as no answer: the core
   * validates those bytes itself. Also used for text sent as bytes in one piece (a streamed text message
   * is checked incrementally by the core's validator); there its `false` refuses the send. Default: none
   * (the core's validator and WebAssembly kernel).
   */
  validateUtf8?: (bytes: Uint8Array) => boolean;
  /**
   * Allocates the buffers the engine assembles received messages in (a frame that spans input chunks, a
   * message of several pieces): given a byte length, it returns a new `Uint8Array` of exactly that length
   * that nothing else uses or keeps; its contents do not matter (every byte is written before the message
   * is delivered). The Node and Bun adapters pass one over node:buffer `Buffer.allocUnsafeSlow`, which skips
   * the zero-filling of `new Uint8Array`. An answer that is not a `Uint8Array` of that length, or a throw,
   * counts as no answer: the engine allocates with `new Uint8Array` instead. Default: `new Uint8Array`.
   */
  allocate?: (byteLength: number) => Uint8Array;
  /**
   * Allocates the buffers the engine builds outgoing frames in when it copies the payload after the header
   * (payloads of up to 16 KiB): given a byte length, it returns a `Uint8Array` of exactly that length, which
   * the engine fills and hands out in `takeOutput()`. Unlike `allocate`'s, these buffers may be reused: its
   * memory must stay as it is until whoever takes the output is done with that chunk, which only the code
   * that both allocates and consumes the output can know (the Bun and Deno adapters pass a `FrameRing` of
   * `@sansws/conn`, which their transports tell when a chunk was written or copied). Same fallback as
   * `allocate`. Default: pieces of a 64 KiB slab shared by all engines, never reused (see the docs' "Buffer
   * ownership").
   */
  allocateFrame?: (byteLength: number) => Uint8Array;
  /**
   * A faster masking routine for pieces of payload of 8 KiB or more, received (server role) and sent
   * (client role), with the signature of bufferutil's `mask`, which the Node and Bun adapters pass when
   * that optional package is installed: XOR `source[0, length)` with the 4-byte `key` (`key[0]` applies to
   * `source[0]`) into `output` from `offset`; `output` may be `source` (in place). It is given views it
   * must not keep, and must either do the whole job or throw before writing anything: a throw counts as no
   * answer, and the core masks those bytes itself. Default: none (the core's WebAssembly kernel or word
   * loop).
   */
  mask?: Masker;
}

/** Options of a single send. */
export interface SendOptions {
  /** Set false to send this message uncompressed even when compression was negotiated. */
  compress?: boolean;
  /**
   * Text sent as bytes (`sendText(bytes)`, `sendMessageStart('text')`): the bytes of this message are known
   * to be valid UTF-8, so they are not checked again. Only for bytes this library validated on receipt and
   * nobody changed since (Conn sets it when text bytes that `readMessageBytes` returned are written back);
   * invalid UTF-8 sent with it makes a correct peer fail the connection with 1007 (RFC 6455 §8.1).
   */
  validated?: boolean;
  /**
   * A string of more than 65,536 UTF-16 units sent uncompressed (`sendText`) goes out as fragments (RFC 6455
   * §5.4) of at most that many units, each encoded into the shared scratch and copied into a frame of its
   * own (from `allocateFrame`), instead of being encoded whole into a fresh buffer. For runtimes whose
   * allocator soon gives freed memory back to the system, so that such buffers are faulted in page by page
   * (Bun: `@sansws/conn` sets it there; docs/performance-log.md, round 12). Such a message is not compressed.
   */
  fragment?: boolean;
}

const DEFAULT_MAX_MESSAGE = 16 * 1024 * 1024;
const DEFAULT_MAX_HANDSHAKE = 8 * 1024;
const DEFAULT_CLOSE_TIMEOUT = 10_000;
/** Client payloads up to this size are copied and masked in one inline loop. */
const INLINE_MASK_MAX = 32;
/** At most this many unanswered pings are remembered for round-trip times. */
const MAX_PENDING_PINGS = 32;
const RANDOM_POOL_SIZE = 4096;
/**
 * Strings of up to LARGE_SCRATCH_CHARS UTF-16 units are encoded into one shared `scratch` of 192 KiB (3 bytes
 * per unit at most), made on first use; its pages are touched only as far as strings fill it. `encodeInto`
 * there cost a quarter to a fifth of `TextEncoder.encode` for two-byte strings of 64 KiB in every runtime
 * measured (docs/performance-log.md, round 10). Longer strings get an array of their own.
 */
const LARGE_SCRATCH_CHARS = 64 * 1024;
let scratch: Uint8Array | undefined;
/**
 * `scratchViews[n]`: the view of the scratch's first n bytes, for n up to SCRATCH_VIEW_MAX, made once (the
 * scratch never changes). Making a view took as long as encoding a 16-unit string on Bun
 * (docs/performance-log.md, round 13).
 */
const scratchViews: Uint8Array[] = [];
const SCRATCH_VIEW_MAX = 1024;
/** The masking key of the frame being sent (filled and used within one call, so shared by all engines). */
const maskKey = new Uint8Array(4);

/** Normalised options. */
interface Settings {
  readonly maxMessageSize: number;
  readonly maxFrameSize: number;
  readonly maxHandshakeSize: number;
  readonly closeTimeout: number;
  readonly pingInterval: number;
  readonly pongTimeout: number;
  readonly randomBytes: (buffer: Uint8Array) => void;
  readonly validateUtf8: ((bytes: Uint8Array) => boolean) | undefined;
  readonly allocate: ((byteLength: number) => Uint8Array) | undefined;
  readonly allocateFrame: ((byteLength: number) => Uint8Array) | undefined;
  readonly mask: Masker | undefined;
}

type NumericOption =
  | 'maxMessageSize'
  | 'maxFrameSize'
  | 'maxHandshakeSize'
  | 'closeTimeout'
  | 'pingInterval'
  | 'pongTimeout';

function positive(
  options: ConnectionOptions,
  name: NumericOption,
  fallback: number,
  allowZero = false,
): number {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || (value === 0 && !allowZero)) {
    throw usageError(`${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}

/** The settings of the last engine made: engines made with equal options share one object. */
let lastSettings: Settings | null = null;

function settings(options: ConnectionOptions): Settings {
  const maxMessageSize = positive(options, 'maxMessageSize', DEFAULT_MAX_MESSAGE);
  const pingInterval = positive(options, 'pingInterval', 0, true);
  const made: Settings = {
    maxMessageSize,
    maxFrameSize: positive(options, 'maxFrameSize', maxMessageSize),
    maxHandshakeSize: positive(options, 'maxHandshakeSize', DEFAULT_MAX_HANDSHAKE),
    closeTimeout: positive(options, 'closeTimeout', DEFAULT_CLOSE_TIMEOUT),
    pingInterval,
    pongTimeout: positive(options, 'pongTimeout', pingInterval || DEFAULT_CLOSE_TIMEOUT),
    randomBytes: options.randomBytes ?? getRandomValues,
    validateUtf8: options.validateUtf8,
    allocate: options.allocate,
    allocateFrame: options.allocateFrame,
    mask: options.mask,
  };
  const last = lastSettings;
  if (last !== null) {
    let same = true;
    for (const key in made) if (made[key as keyof Settings] !== last[key as keyof Settings]) same = false;
    if (same) return last;
  }
  return lastSettings = made;
}

/** A streamed message being sent, from `sendMessageStart` to `sendMessageEnd`. */
interface Outgoing {
  readonly type: 'text' | 'binary';
  started: boolean;
  readonly mayCompress: boolean;
  compressed: boolean;
  /** Text: the UTF-8 check of the chunks sent so far (none when sent with `validated`). */
  readonly utf8: Utf8Validator | null;
}

interface PendingPing {
  readonly data: Uint8Array;
  readonly sentAt: number;
  readonly keepalive: boolean;
}

// Set by Connection's static block (a class there can use the engine's private fields).
let EngineReceiver: new (connection: Connection) => Receiver;

/** Throws unless `code` may be sent in a close frame (RFC 6455 §7.4). */
function checkCloseCode(code: number): void {
  if (!Number.isInteger(code) || !isValidReceivedCloseCode(code)) {
    throw usageError(`close code ${code} may not be sent`);
  }
}

/**
 * The engine for one connection. Use {@link ServerConnection} or {@link ClientConnection}.
 */
export abstract class Connection {
  /** 'server' or 'client'. */
  abstract readonly role: 'server' | 'client';
  /** Answer pings with pongs automatically (RFC 6455 §5.5.2). Turn off to answer them yourself. */
  autoPong: boolean;

  protected readonly settings: Settings;
  #state: ConnectionState = 'connecting';
  #events: WebSocketEvent[] = NONE;
  #output: Uint8Array[] = NONE;
  #transportAction: TransportAction = 'none';
  #now = 0;
  #receiver: Receiver | null = null;
  #streaming: boolean;
  #compression: MessageCompressor | null = null;
  #subprotocol: string | null = null;
  #extensions: string | null = null;

  #sending: Outgoing | null = null;

  // Closing handshake.
  #closeReceived: { code: number; reason: string } | null = null;
  #closeDeadline: number | undefined;

  // A peer's violation held back until the messages before it were taken (see #handler.onError).
  #messagesUntaken = 0;
  #heldFailure: ProtocolError | null = null;

  // Keepalive and round-trip times.
  #pingDeadline: number | undefined;
  #pongDeadline: number | undefined;
  #pendingPings: PendingPing[] | null = null; // made by the first ping

  // Masking keys come from a pool so that the random source is not called per frame (made by the first).
  #keys: { readonly pool: Uint8Array; offset: number } | null = null;

  constructor(options: ConnectionOptions = {}) {
    this.settings = settings(options);
    this.#streaming = options.streaming ?? false;
    this.autoPong = options.autoPong ?? true;
  }

  // ---- getters -------------------------------------------------------------------------------------

  /** The current state. */
  get state(): ConnectionState {
    return this.#state;
  }
  /** The negotiated subprotocol, once open. */
  get subprotocol(): string | null {
    return this.#subprotocol;
  }
  /** The negotiated `Sec-WebSocket-Extensions` value, once open. */
  get extensions(): string | null {
    return this.#extensions;
  }
  /** Whether messages are delivered as streaming events. May be changed between messages. */
  get streaming(): boolean {
    return this.#streaming;
  }
  set streaming(value: boolean) {
    if (this.#receiver?.inMessage) {
      throw usageError('cannot change streaming mode in the middle of a message', 'INVALID_STATE');
    }
    this.#streaming = value;
    if (this.#receiver !== null) this.#receiver.wholeMessages = !value;
  }

  // ---- outputs -------------------------------------------------------------------------------------

  /** Takes the events produced since the last call, in order (none: a shared, frozen empty array). */
  takeEvents(): WebSocketEvent[] {
    // A failure held back behind messages (see #handler.onError) happens once they were taken and
    // handled: the caller asks again and finds nothing else queued.
    if (this.#events.length === 0 && this.#heldFailure !== null) this.#failHeld();
    const events = this.#events;
    this.#messagesUntaken = 0;
    if (events.length === 0) return events;
    this.#events = NONE;
    return events;
  }

  /**
   * Takes the bytes to write, in order. The engine keeps no reference to them afterwards, except that a
   * large binary payload sent by a server is referenced, not copied: do not modify it until written. None:
   * a shared, frozen empty array.
   */
  takeOutput(): Uint8Array[] {
    const output = this.#output;
    if (output.length === 0) return output;
    this.#output = NONE;
    return output;
  }

  /**
   * What to do with the transport after writing everything taken so far: 'end' (flush, then half-close
   * or close it; RFC 6455 §7.1.1 has the server close first), 'abort' (destroy it at once), or 'none'.
   */
  get transportAction(): TransportAction {
    return this.#transportAction;
  }

  /** The next deadline (same clock as `now`), or undefined when no timer is needed. */
  pollTimeout(): number | undefined {
    // A held failure is due as soon as the caller has handled the messages before it.
    if (this.#heldFailure !== null) return this.#now;
    switch (this.#state) {
      case 'open':
        return min(this.#pingDeadline, this.#pongDeadline);
      case 'closing':
        return this.#closeDeadline;
      default:
        return undefined;
    }
  }

  // ---- inputs --------------------------------------------------------------------------------------

  /**
   * Feeds bytes received from the transport. The engine takes `data`: it may unmask it in place and hand
   * out views of it in events, so do not reuse the buffer. Never throws on any input.
   */
  receiveData(data: Uint8Array, now?: number): void {
    if (now !== undefined) this.#now = now;
    if (this.#state === 'connecting') {
      this.receiveHandshake(data);
    } else if (this.#receiver !== null) {
      this.#receiver.push(data);
    }
  }

  /** The transport reached end of input (the peer closed or half-closed it). */
  receiveEof(): void {
    this.#failHeld();
    switch (this.#state) {
      case 'connecting':
        this.handshakeEof();
        return;
      case 'open':
        this.#abnormal('ABNORMAL_CLOSURE', 'the transport closed without a closing handshake', 'end');
        return;
      case 'closing':
        this.#endClosing('ABNORMAL_CLOSURE', 'the transport closed during the closing handshake', 'end');
        return;
      case 'closed':
        return;
    }
  }

  /** Advances time to `now` and fires every deadline that has passed. */
  handleTimeout(now: number): void {
    this.#now = now;
    this.#failHeld();
    if (this.#state === 'closing') {
      if (this.#closeDeadline !== undefined && now >= this.#closeDeadline) {
        this.#endClosing('CLOSE_TIMEOUT', 'the closing handshake timed out', 'abort');
      }
      return;
    }
    if (this.#state !== 'open') return;
    if (this.#pongDeadline !== undefined && now >= this.#pongDeadline) {
      this.#abnormal('PING_TIMEOUT', 'keepalive ping was not answered in time', 'abort');
      return;
    }
    if (this.#pingDeadline !== undefined && now >= this.#pingDeadline) {
      this.#pingDeadline = undefined;
      this.#ping(this.randomBytes(4), true);
      this.#pongDeadline = now + this.settings.pongTimeout;
    }
  }

  // ---- commands ------------------------------------------------------------------------------------

  /**
   * Sends a whole text message: a string, or its UTF-8 bytes. Bytes are checked (with `validateUtf8` when
   * given, as for a received message) unless `options.validated`, and refused with a UsageError if they are
   * not UTF-8; like binary payloads, a server references them above 16 KiB.
   */
  sendText(data: string | Uint8Array, options?: SendOptions): void {
    this.#checkSend('send text');
    if (typeof data !== 'string') {
      if (options?.validated !== true && !isValidText(this.settings.validateUtf8, data)) {
        throw usageError('text must be valid UTF-8');
      }
      this.#sendMessage(OP_TEXT, data, options, false);
    } else if (data.length <= LARGE_SCRATCH_CHARS || options?.fragment) {
      // Encoded into the shared scratch, in pieces of at most LARGE_SCRATCH_CHARS units (one piece unless
      // `fragment`), each of which always fits: Bun's `encodeInto` took time in proportion to all it was given,
      // not to what it wrote. No piece ends between the halves of a surrogate pair. Nothing may keep a view of
      // the scratch: a frame copies it when it is small or when `allocateFrame` gives memory to copy it into,
      // and a whole message otherwise gets it sliced out (our own array), which the frame references.
      const length = data.length;
      const buffer = scratch ??= new Uint8Array(LARGE_SCRATCH_CHARS * 3);
      let at = 0;
      do {
        let end = at + LARGE_SCRATCH_CHARS;
        if (end < length && (data.charCodeAt(end - 1) & 0xfc00) === 0xd800) end--;
        const written = utf8Encoder.encodeInto(data.substring(at, end), buffer).written;
        const piece = written > SCRATCH_VIEW_MAX
          ? buffer.subarray(0, written)
          : scratchViews[written] ??= buffer.subarray(0, written);
        if (at || end < length) {
          this.#sendFrame(end >= length, false, at ? OP_CONTINUATION : OP_TEXT, piece, false, true);
        } else if (written <= COPY_THRESHOLD || this.settings.allocateFrame !== undefined) {
          this.#sendMessage(OP_TEXT, piece, options, false, true);
        } else {
          this.#sendMessage(OP_TEXT, piece.slice(), options, true);
        }
        at = end;
      } while (at < length);
    } else {
      this.#sendMessage(OP_TEXT, utf8Encoder.encode(data), options, true);
    }
  }

  /** Sends a whole binary message. A server references (does not copy) payloads above 16 KiB. */
  sendBinary(data: Uint8Array, options?: SendOptions): void {
    this.#checkSend('send binary');
    this.#sendMessage(OP_BINARY, data, options, false);
  }

  /**
   * Sends a prepared message. A server sending it uncompressed writes the shared, pre-encoded frame (no
   * copy, no encoding); otherwise it is sent like `sendText` / `sendBinary`.
   */
  sendPrepared(message: PreparedMessage, options?: SendOptions): void {
    this.#checkSend(message.type === 'text' ? 'send text' : 'send binary');
    const compression = this.#compression;
    if (
      this.role === 'server' &&
      (compression === null || options?.compress === false || !compression.shouldCompress(message.size, true))
    ) {
      for (const chunk of serverFrame(message)) this.write(chunk);
    } else {
      this.#sendMessage(message.type === 'text' ? OP_TEXT : OP_BINARY, message.data, options, false);
    }
  }

  /**
   * Starts a streamed message; send its pieces with `sendMessageChunk` (one frame each) and finish it with
   * `sendMessageEnd`. Control frames may still be sent in between; other data messages may not.
   */
  sendMessageStart(type: 'text' | 'binary', options?: SendOptions): void {
    checkCommand('start a message', this.#state);
    if (this.#sending !== null) {
      throw usageError('cannot start a message while one is being sent', 'INVALID_STATE');
    }
    this.#sending = {
      type,
      started: false,
      mayCompress: this.#compression !== null && options?.compress !== false,
      compressed: false,
      utf8: type === 'text' && options?.validated !== true ? new Utf8Validator() : null,
    };
  }

  /** Sends one piece of the streamed message as one frame. Text may be a string or UTF-8 bytes. */
  sendMessageChunk(data: Uint8Array | string): void {
    this.#sendFragment(data, false, 'send a message chunk');
  }

  /** Ends the streamed message, with an optional last piece. */
  sendMessageEnd(data: Uint8Array | string = EMPTY): void {
    this.#sendFragment(data, true, 'end a message');
    this.#sending = null;
  }

  /** Sends a ping (payload ≤ 125 bytes). Its pong event will carry the round-trip time. */
  sendPing(data: Uint8Array = EMPTY): void {
    checkCommand('send a ping', this.#state);
    checkControlPayload(data);
    this.#ping(data, false);
  }

  /** Sends a pong (payload ≤ 125 bytes): an answer to a ping, or unsolicited as a heartbeat. */
  sendPong(data: Uint8Array = EMPTY): void {
    checkCommand('send a pong', this.#state);
    checkControlPayload(data);
    this.#sendFrame(true, false, OP_PONG, data);
  }

  /**
   * Starts the closing handshake (RFC 6455 §7.1.2): sends a close frame with `code` (1000, 1001–1003,
   * 1007–1014 or 3000–4999) and a reason of at most 123 UTF-8 bytes. A no-op when already closing.
   */
  close(code = 1000, reason = ''): void {
    checkCommand('close', this.#state);
    if (this.#state !== 'open') return;
    checkCloseCode(code);
    this.#startClosing(closePayload(code, reason));
  }

  /** Sends a close frame with `payload` and waits for the peer's (RFC 6455 §7.1.2), until the timeout. */
  #startClosing(payload: Uint8Array): void {
    this.#sendFrame(true, false, OP_CLOSE, payload);
    this.#transition('closing');
    this.#closeDeadline = this.#now + this.settings.closeTimeout;
  }

  /**
   * Fails the connection (RFC 6455 §7.1.7): sends a close frame with `code` if none was sent, closes the
   * transport and ends in `closed` without waiting for the peer. `code` may be any code a close frame may
   * carry. Before the handshake completed, it just drops the transport.
   */
  fail(code: number, reason = '', error?: WebSocketError): void {
    if (this.#state === 'closed') return;
    checkCloseCode(code);
    if (this.#state === 'connecting') {
      this.#finish(1006, reason, false, error, 'abort');
      return;
    }
    // A close frame was sent iff closing (#startClosing).
    if (this.#state === 'open') this.#sendFrame(true, false, OP_CLOSE, closePayload(code, reason));
    this.#finish(code, reason, false, error, 'end');
  }

  /**
   * Abandons the connection at once, without a closing handshake (the application terminates it):
   * `closed` with 1006 and no error (nothing went wrong but our own decision), and the transport is to be
   * destroyed. A no-op once closed.
   */
  abort(): void {
    if (this.#state === 'closed') return;
    this.#finish(1006, '', false, undefined, 'abort');
  }

  // ---- for the role subclasses ---------------------------------------------------------------------

  /** Handles bytes while connecting (the handshake). */
  protected abstract receiveHandshake(data: Uint8Array): void;
  /** Handles EOF while connecting. */
  protected abstract handshakeEof(): void;

  protected emit(event: WebSocketEvent): void {
    if (this.#events === NONE) this.#events = [event];
    else this.#events.push(event);
  }

  protected write(bytes: Uint8Array): void {
    if (this.#output === NONE) this.#output = [bytes];
    else this.#output.push(bytes);
  }

  protected randomBytes(n: number): Uint8Array {
    const bytes = new Uint8Array(n);
    this.settings.randomBytes(bytes);
    return bytes;
  }

  /** The handshake succeeded: switch to frames, then process any bytes that followed the handshake. */
  protected opened(
    subprotocol: string | null,
    extensions: string | null,
    compression: MessageCompressor | null,
    rest: Uint8Array,
  ): void {
    this.#transition('open');
    this.#subprotocol = subprotocol;
    this.#extensions = extensions;
    this.#compression = compression;
    this.#receiver = new EngineReceiver(this);
    this.#receiver.inflater = compression;
    this.#receiver.wholeMessages = !this.#streaming;
    // Whole milliseconds (rounded up): a small integer, where a fractional time would be one more 16-byte
    // heap number on every idle connection.
    if (this.settings.pingInterval > 0) {
      this.#pingDeadline = Math.ceil(this.#now + this.settings.pingInterval);
    }
    this.emit({ type: 'open', subprotocol, extensions });
    if (rest.length > 0) this.#receiver.push(rest);
  }

  /** The handshake failed: write the response (if any), drop the transport and report. */
  protected handshakeFailed(error: HandshakeError, response: Uint8Array | null): void {
    if (response !== null) this.write(response);
    this.#finish(1006, '', false, error, 'end');
  }

  // ---- internals -----------------------------------------------------------------------------------

  #transition(to: ConnectionState): void {
    checkTransition(this.#state, to);
    this.#state = to;
  }

  #checkSend(command: Command): void {
    checkCommand(command, this.#state);
    if (this.#sending !== null) {
      throw usageError(`cannot ${command} while a streamed message is being sent`, 'INVALID_STATE');
    }
  }

  /** `owned`: the engine made `payload` and nobody else holds it, so it may be masked in place. */
  #sendMessage(
    opcode: number,
    payload: Uint8Array,
    options: SendOptions | undefined,
    owned: boolean,
    copy = false,
  ): void {
    const compression = this.#compression;
    if (
      compression !== null && options?.compress !== false && compression.shouldCompress(payload.length, true)
    ) {
      this.#sendFrame(true, true, opcode, compression.compress(payload, true), true);
    } else {
      this.#sendFrame(true, false, opcode, payload, owned, copy);
    }
  }

  #sendFragment(data: Uint8Array | string, fin: boolean, command: Command): void {
    checkCommand(command, this.#state);
    const sending = this.#sending;
    if (sending === null) throw usageError(`cannot ${command}: no message was started`, 'INVALID_STATE');
    const type = sending.type;
    let payload: Uint8Array;
    if (typeof data === 'string') {
      if (type !== 'text') {
        throw usageError('a binary message takes Uint8Array chunks');
      }
      payload = utf8Encoder.encode(data);
    } else {
      payload = data;
      // Sending invalid UTF-8 would make a correct peer fail the connection with 1007: refuse it here. A
      // whole message (the usual echo of received text bytes) may use the injected validator.
      const utf8 = sending.utf8;
      if (utf8 !== null) {
        const valid = fin && !sending.started
          ? isValidText(this.settings.validateUtf8, payload)
          : utf8.update(payload) && (!fin || utf8.finish());
        if (!valid) throw usageError('text chunks must be valid UTF-8');
      }
    }
    const first = !sending.started;
    sending.started = true;
    if (first && sending.mayCompress) {
      sending.compressed = this.#compression!.shouldCompress(payload.length, fin);
    }
    const opcode = first ? (type === 'text' ? OP_TEXT : OP_BINARY) : OP_CONTINUATION;
    if (sending.compressed) {
      // RFC 7692 §6.1: RSV1 on the first frame of a compressed message only.
      this.#sendFrame(fin, first, opcode, this.#compression!.compress(payload, fin));
    } else {
      this.#sendFrame(fin, false, opcode, payload);
    }
  }

  #ping(data: Uint8Array, keepalive: boolean): void {
    const pings = this.#pendingPings ??= [];
    if (pings.length === MAX_PENDING_PINGS) pings.shift();
    pings.push({ data: data.slice(), sentAt: this.#now, keepalive });
    this.#sendFrame(true, false, OP_PING, data);
  }

  /** `copy`: the payload is a shared scratch's, so a server copies it after the header whatever its size. */
  #sendFrame(
    fin: boolean,
    rsv1: boolean,
    opcode: number,
    payload: Uint8Array,
    owned = false,
    copy = false,
  ): void {
    const length = payload.length;
    if (this.role === 'client') {
      // RFC 6455 §5.3: a fresh, unpredictable masking key for every frame.
      const key = this.#nextKey();
      if (owned && length > COPY_THRESHOLD) {
        // Our own buffer (encoded text, compressed output): mask it in place rather than copy it.
        const header = new Uint8Array(headerSize(length, true));
        writeHeader(header, 0, fin, rsv1, opcode, length, key);
        applyMask(payload, key, 0, 0, length, this.settings.mask);
        this.write(header);
        this.write(payload);
        return;
      }
      const out = frameBuffer(headerSize(length, true) + length, this.settings.allocateFrame);
      const offset = writeHeader(out, 0, fin, rsv1, opcode, length, key);
      if (length <= INLINE_MASK_MAX) {
        // Short payloads: copy and mask in one loop, without the calls.
        for (let i = 0; i < length; i++) out[offset + i] = payload[i]! ^ key[i & 3]!;
      } else {
        // Copied and masked in one pass where the masker can (the source is left as it was).
        applyMask(payload, key, 0, 0, length, this.settings.mask, out, offset);
      }
      this.write(out);
    } else if (length <= COPY_THRESHOLD || copy) {
      const out = frameBuffer(headerSize(length, false) + length, this.settings.allocateFrame);
      out.set(payload, writeHeader(out, 0, fin, rsv1, opcode, length, null));
      this.write(out);
    } else {
      // Header and payload separately, so a large payload is never copied.
      const header = new Uint8Array(headerSize(length, false));
      writeHeader(header, 0, fin, rsv1, opcode, length, null);
      this.write(header);
      this.write(payload);
    }
  }

  #nextKey(): Uint8Array {
    const keys = this.#keys ??= { pool: new Uint8Array(RANDOM_POOL_SIZE), offset: RANDOM_POOL_SIZE };
    const pool = keys.pool;
    let at = keys.offset;
    if (at + 4 > RANDOM_POOL_SIZE) {
      this.settings.randomBytes(pool);
      at = 0;
    }
    const key = maskKey;
    key[0] = pool[at]!;
    key[1] = pool[at + 1]!;
    key[2] = pool[at + 2]!;
    key[3] = pool[at + 3]!;
    keys.offset = at + 4;
    return key;
  }

  /**
   * Ends `closing`: cleanly with the peer's code if its close frame came (only the peer's end of the
   * transport is missing), else abnormally as `code`.
   */
  #endClosing(code: ProtocolErrorCode, message: string, action: TransportAction): void {
    const received = this.#closeReceived;
    if (received !== null) this.#finish(received.code, received.reason, true, undefined, action);
    else this.#abnormal(code, message, action);
  }

  #abnormal(code: ProtocolErrorCode, message: string, action: TransportAction): void {
    this.#finish(1006, '', false, new ProtocolError(code, 1006, message), action);
  }

  /** Enters `closed` (once), sets what to do with the transport and emits the `closed` event. */
  #finish(
    code: number,
    reason: string,
    clean: boolean,
    error: WebSocketError | undefined,
    action: TransportAction,
  ): void {
    if (this.#state === 'closed') return;
    this.#transition('closed');
    this.#transportAction = action;
    this.#receiver?.stop();
    this.#compression?.release();
    this.#compression = null;
    this.#pingDeadline = this.#pongDeadline = this.#closeDeadline = undefined;
    this.#pendingPings = null;
    this.emit({ type: 'closed', code, reason, clean, error });
  }

  /**
   * The engine's receiver, its own handler: the callbacks (the engine's reaction to what the peer sent)
   * are methods on a shared prototype, not a closure per callback nor a second object per engine. Defined
   * here so that it can reach the engine's private fields.
   */
  static {
    EngineReceiver = class extends Receiver implements ReceiverHandler {
      constructor(readonly c: Connection) {
        super(null, c.settings, c.role === 'server');
      }
      onMessageStart(text: boolean, compressed: boolean): void {
        this.c.emit({ type: 'messageStart', messageType: text ? 'text' : 'binary', compressed });
      }
      onMessageData(data: Uint8Array): void {
        this.c.emit({ type: 'messageChunk', data });
      }
      onMessageEnd(): void {
        this.c.#messagesUntaken++;
        this.c.emit({ type: 'messageEnd' });
      }
      onMessage(text: boolean, data: Uint8Array): void {
        this.c.#messagesUntaken++;
        this.c.emit(text ? new LazyTextEvent(data, 0, data.length) : { type: 'binary', data });
      }
      onTextIn(source: Uint8Array, start: number, length: number): void {
        this.c.#messagesUntaken++;
        this.c.emit(new LazyTextEvent(source, start, length));
      }
      onPing(data: Uint8Array): void {
        this.c.emit({ type: 'ping', data });
        // RFC 6455 §5.5.2: a ping is answered with a pong carrying the same data, unless a close was sent.
        if (this.c.autoPong && this.c.#state === 'open') this.c.#sendFrame(true, false, OP_PONG, data);
      }
      onPong(data: Uint8Array): void {
        this.c.emit({ type: 'pong', data, rtt: this.c.#matchPong(data) });
      }
      onClose(code: number, reason: string): void {
        this.c.#closeReceived = { code, reason };
        this.c.emit({ type: 'close', code, reason });
        if (this.c.#state === 'open') {
          // RFC 6455 §5.5.1: answer with a close frame, typically echoing the status code received.
          this.c.#startClosing(code === 1005 ? EMPTY : closePayload(code, ''));
        }
        // RFC 6455 §7.1.1: the server closes the TCP connection first; the client waits for it.
        if (this.c.role === 'server') this.c.#finish(code, reason, true, undefined, 'end');
      }
      onError(error: ProtocolError): void {
        // Messages that arrived whole before the violation are delivered and may be answered first (an
        // echo goes out before the close, as Autobahn's strict cases 3.2, 4.1.3, 5.15… expect): the
        // failure waits until those events were taken. The receiver has stopped; nothing else is parsed.
        if (this.c.#messagesUntaken > 0) this.c.#heldFailure = error;
        else this.c.#failWith(error);
      }
    };
  }

  #failHeld(): void {
    const error = this.#heldFailure;
    if (error === null) return;
    this.#heldFailure = null;
    this.#failWith(error);
  }

  /** Fails the connection for the peer's violation `error`, with its close code and message as reason. */
  #failWith(error: ProtocolError): void {
    this.fail(error.closeCode, error.message.slice(0, 120), error);
  }

  /** Matches a pong to the pings in flight; a pong also acknowledges every earlier ping. */
  #matchPong(data: Uint8Array): number | undefined {
    const pings = this.#pendingPings;
    if (pings === null) return undefined;
    for (let i = 0; i < pings.length; i++) {
      const ping = pings[i]!;
      if (!equalBytes(ping.data, data)) continue;
      pings.splice(0, i + 1);
      if (ping.keepalive || this.#pongDeadline !== undefined) {
        this.#pongDeadline = undefined;
        if (this.settings.pingInterval > 0) {
          this.#pingDeadline = Math.ceil(Math.max(this.#now, ping.sentAt + this.settings.pingInterval));
        }
      }
      return this.#now - ping.sentAt;
    }
    return undefined;
  }
}

function min(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a < b ? a : b;
}

function checkControlPayload(data: Uint8Array): void {
  // RFC 6455 §5.5: control frame payloads are at most 125 bytes.
  if (data.length > MAX_CONTROL_PAYLOAD) {
    throw usageError(`control frame payload of ${data.length} bytes exceeds 125`);
  }
}

function closePayload(code: number, reason: string): Uint8Array {
  const encoded = utf8Encoder.encode(reason);
  // RFC 6455 §5.5: the whole close payload (2-byte code + reason) is at most 125 bytes.
  if (encoded.length > MAX_CONTROL_PAYLOAD - 2) {
    throw usageError(`close reason of ${encoded.length} bytes exceeds 123`);
  }
  const payload = new Uint8Array(2 + encoded.length);
  payload[0] = code >>> 8;
  payload[1] = code & 0xff;
  payload.set(encoded, 2);
  return payload;
}

/**
 * A text event whose string is decoded on first access, then kept: decoding costs more than all of the
 * protocol work on a text message, and a caller that forwards or drops the message never pays it. A class
 * with a prototype getter (an object literal with a getter is ten times slower to create in V8).
 */
class LazyTextEvent implements TextEvent {
  readonly type = 'text' as const;
  // The message is #source[#start, #start + #length); its view is made on first use (see `bytes`).
  readonly #source: Uint8Array;
  readonly #start: number;
  readonly #length: number;
  #bytes: Uint8Array | undefined;
  #data: string | undefined;

  constructor(source: Uint8Array, start: number, length: number) {
    this.#source = source;
    this.#start = start;
    this.#length = length;
  }

  get data(): string {
    return this.#data ??= utf8Decoder.decode(this.bytes);
  }

  /**
   * The message as received: valid UTF-8, not decoded. A view made on first access (then kept): while
   * events wait in the queue, a text event is one object, not two. When the message fills an array of its
   * own (a short masked one, or one assembled or inflated into a plain Uint8Array), that array itself.
   */
  get bytes(): Uint8Array {
    const source = this.#source;
    // A short message the receiver unmasked into an array of its own is that array (never a subclass).
    return this.#bytes ??= this.#length === source.length && source.constructor === Uint8Array
      ? source
      : new Uint8Array(source.buffer, source.byteOffset + this.#start, this.#length);
  }

  toJSON(): { type: 'text'; data: string } {
    return { type: 'text', data: this.data };
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
