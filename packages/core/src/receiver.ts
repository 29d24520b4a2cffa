/**
 * The frame receiver: a resumable state machine over a list of received chunks (RFC 6455 §5).
 *
 * Theory of operation. `push` appends a chunk and runs the machine until it needs more bytes:
 * HEADER (2 bytes) → LENGTH16 / LENGTH64 → MASK (4 bytes) → PAYLOAD → HEADER… Header fields are read
 * byte by byte from the chunk list, so they never allocate. Data-frame payload is handed on as soon as it
 * arrives, one piece per input chunk, as a *view* of that chunk unmasked in place: a frame that lies
 * inside one chunk is never copied, and a frame spread over many chunks is never gathered here (the
 * consumer decides whether to assemble it). That is also what makes UTF-8 validation fail fast and what
 * keeps a 1 GiB frame out of memory in streaming mode. Control frames (≤ 125 bytes) are gathered whole.
 *
 * Whole-message mode (`wholeMessages`, the engine's default) assembles messages here, so that the common
 * cases cost no list and no second copy:
 * - a single-frame message that lies inside one chunk is delivered as a view of that chunk. The loop in
 *   `#smallFrames` handles runs of such frames (most small messages) with no per-frame state changes
 *   and one handler call each: a view for binary, and for text only the position (the text event makes
 *   its view when first asked for its bytes or string);
 * - a frame that spans chunks is copied, piece by piece as it arrives (while the piece is in cache), into
 *   one buffer of the frame's exact size, allocated when its first piece arrives. Only frames of up to
 *   `PRESIZE_MAX` bytes are pre-sized, so that a peer cannot make us commit more than that ahead of the
 *   bytes that fill it; bigger frames keep their pieces and are copied once, when complete;
 * - a message of several frames (or a compressed one) keeps its pieces and is copied once at its end.
 * Every limit is still checked from the frame header, before anything is buffered or allocated.
 *
 * Peer misbehaviour never throws: the first violation is reported once through `onError` with its close
 * code, and every byte after it is discarded. Receiving a close frame stops the receiver too (RFC 6455
 * §5.5.1: nothing after a close frame is processed).
 */

import { ProtocolError, type ProtocolErrorCode } from './errors.ts';
import { concat } from './http.ts';
import {
  allocateWith,
  EMPTY,
  isValidReceivedCloseCode,
  MAX_CONTROL_PAYLOAD,
  NONE,
  OP_BINARY,
  OP_CONTINUATION,
  OP_PING,
  OP_PONG,
  OP_TEXT,
} from './frames.ts';
import { unmaskWasm, WASM_MASK_MIN, type WasmExports, wasmKernels } from './kernels.ts';
import { applyMask, type Masker } from './mask.ts';
import { utf8Decoder } from './platform.ts';
import { isValidUtf8, Utf8Validator } from './utf8.ts';

/** Decompresses the payload of compressed messages (implemented by permessage-deflate). */
export interface MessageInflater {
  decompress(
    data: Uint8Array,
    fin: boolean,
    budget: number,
    onData: (chunk: Uint8Array) => void,
  ): 'ok' | 'too-big' | 'invalid';
}

/** What the receiver reports, in wire order. */
export interface ReceiverHandler {
  /** Streaming mode: a data message starts. */
  onMessageStart(text: boolean, compressed: boolean): void;
  /** Streaming mode: a piece of message payload, unmasked, decompressed, and (text) valid UTF-8 so far. */
  onMessageData(data: Uint8Array): void;
  /** Streaming mode: the message ended, and is valid. */
  onMessageEnd(): void;
  /** Whole-message mode: a complete, valid message (text: valid UTF-8). */
  onMessage(text: boolean, data: Uint8Array): void;
  /**
   * Whole-message mode: a complete text message, valid UTF-8, that is `source[start, start + length)`
   * (no view made: the consumer makes one if and when it needs it).
   */
  onTextIn(source: Uint8Array, start: number, length: number): void;
  onPing(payload: Uint8Array): void;
  onPong(payload: Uint8Array): void;
  /** A valid close frame; `code` is 1005 when it had no payload (RFC 6455 §7.1.5). */
  onClose(code: number, reason: string): void;
  onError(error: ProtocolError): void;
}

/** The receiver's limits and hooks: the engine's settings, one object shared by many receivers and kept. */
export interface ReceiverOptions {
  readonly maxFrameSize: number;
  readonly maxMessageSize: number;
  /**
   * A faster UTF-8 check of complete, code-point-aligned text (see `ConnectionOptions.validateUtf8`), used
   * for pieces of `FAST_UTF8_MIN` bytes or more; only its boolean answers count (see `askInjected`).
   */
  readonly validateUtf8?: ((bytes: Uint8Array) => boolean) | undefined;
  /** Allocates message buffers (see `ConnectionOptions.allocate`); only its right answers count. */
  readonly allocate?: ((byteLength: number) => Uint8Array) | undefined;
  /** An injected masker (see `ConnectionOptions.mask`). */
  readonly mask?: Masker | undefined;
}

const HEADER = 0;
const LENGTH16 = 1;
const LENGTH64 = 2;
const MASK = 3;
const PAYLOAD = 4;
const STOPPED = 5;

/** Pieces of text shorter than this go to the incremental validator even when a faster one is injected. */
const FAST_UTF8_MIN = 64;
/** Frames up to this size that span chunks are assembled in a buffer allocated at their first piece. */
const PRESIZE_MAX = 1024 * 1024;
/** Payloads up to this size are unmasked (and checked for ASCII) inline, not through `applyMask`. */
const INLINE_MAX = 32;
/**
 * The masking key as the bytes applyMask and unmaskWasm take, filled from `#keyWord` right before each
 * call: those calls do not re-enter any receiver, so one array serves every receiver.
 */
const maskKey = new Uint8Array(4);

/** `bytes[start, start + length)` as a plain Uint8Array view, whatever the class of `bytes`. */
const viewOf = (bytes: Uint8Array, start: number, length: number): Uint8Array =>
  new Uint8Array(bytes.buffer, bytes.byteOffset + start, length);

/**
 * The injected validator's verdict on `bytes`, complete text that starts and ends between code points.
 * Its `false` fails the message (1007) as ours would. Any other answer than a boolean, or a throw, is a
 * local bug, not the peer's: those bytes are then checked by our own validator, so a broken hook costs
 * speed, never a wrong verdict it did not give, and never an exception out of `push`.
 */
function askInjected(validate: (bytes: Uint8Array) => boolean, bytes: Uint8Array): boolean {
  let answer: unknown;
  try {
    answer = validate(bytes);
  } catch {
    answer = undefined;
  }
  return answer === true || (answer !== false && isValidUtf8(bytes));
}

/**
 * Whether `bytes`, a whole text message, is valid UTF-8: by the injected validator from `FAST_UTF8_MIN`
 * bytes (see {@link askInjected}), by ours below that or without one. The engine's send path uses it too.
 */
export function isValidText(
  validate: ((bytes: Uint8Array) => boolean) | undefined,
  bytes: Uint8Array,
): boolean {
  return validate !== undefined && bytes.length >= FAST_UTF8_MIN
    ? askInjected(validate, bytes)
    : isValidUtf8(bytes);
}

export class Receiver {
  /** Set by the engine once permessage-deflate is negotiated; RSV1 is legal only then (RFC 7692 §6). */
  inflater: MessageInflater | null = null;
  /**
   * Whole-message mode (`onMessage`) rather than streaming (`onMessageStart` / `onMessageData` /
   * `onMessageEnd`). Read when a message starts; changing it inside a message affects the next one.
   */
  wholeMessages = true;

  readonly #handler: ReceiverHandler;
  /** 'server' expects masked frames, 'client' unmasked ones (RFC 6455 §5.1). */
  readonly #expectMask: boolean;
  readonly #options: ReceiverOptions;

  // Input: chunks[0] is consumed from `offset`; `buffered` counts unread bytes in all chunks.
  #chunks: Uint8Array[] = NONE;
  #offset = 0;
  #buffered = 0;

  #state = HEADER;
  // Current frame.
  #fin = false;
  #opcode = 0;
  #masked = false;
  #length = 0;
  #read = 0;
  /** The frame's masking key, its 4 bytes as one little-endian number (see `maskKey`). */
  #keyWord = 0;
  // Current data message (it spans frames until a FIN).
  #inMessage = false;
  #text = false;
  #compressed = false;
  #messageLength = 0;
  // Assembly of the current message in whole-message mode (see the theory of operation).
  #assembling = false;
  /** The message's pieces so far (views or whole pre-sized frames): the first alone, then a list. */
  #kept: Uint8Array | Uint8Array[] | null = null;
  /** The pre-sized buffer of the current frame (filled up to `#read` less the piece at hand). */
  #frame: Uint8Array | null = null;
  /** Made by the first text message. */
  #utf8: Utf8Validator | null = null;
  /** Made by the first compressed message. */
  #onInflated: ((chunk: Uint8Array) => void) | null = null;

  /** `handler` null: the receiver is its own handler (a subclass that implements it). */
  constructor(handler: ReceiverHandler | null, options: ReceiverOptions, expectMask: boolean) {
    this.#handler = handler ?? (this as unknown as ReceiverHandler);
    this.#options = options;
    this.#expectMask = expectMask;
  }

  /** True once the receiver discards its input (after an error or a close frame). */
  get stopped(): boolean {
    return this.#state === STOPPED;
  }

  /** True while a data message has started and not ended. */
  get inMessage(): boolean {
    return this.#inMessage;
  }

  /** Stops processing: later input is discarded. */
  stop(): void {
    this.#state = STOPPED;
    this.#chunks = NONE;
    this.#buffered = 0;
    this.#offset = 0;
    this.#kept = null;
    this.#frame = null;
  }

  /**
   * Takes `data` (the receiver may unmask it in place and hand out views of it) and processes as much
   * as can be processed.
   */
  push(data: Uint8Array): void {
    if (this.#state === STOPPED || data.length === 0) return;
    if (this.#chunks === NONE) this.#chunks = [data];
    else this.#chunks.push(data);
    this.#buffered += data.length;
    this.#run();
  }

  #run(): void {
    for (;;) {
      switch (this.#state) {
        case HEADER: {
          const chunk = this.#chunks[0];
          const at = this.#offset;
          // Fast path: both header bytes in the current chunk (nearly always).
          if (chunk !== undefined && chunk.length - at >= 2) {
            if (this.wholeMessages && !this.#inMessage && this.#smallFrames(chunk, at)) break;
            this.#skip(chunk, 2);
            this.#readHeader(chunk[at]!, chunk[at + 1]!);
          } else if (this.#buffered < 2) return;
          else this.#readHeader(this.#readByte(), this.#readByte());
          break;
        }
        case LENGTH16: {
          if (this.#buffered < 2) return;
          const chunk = this.#chunks[0]!;
          const at = this.#offset;
          if (chunk.length - at >= 2) {
            this.#skip(chunk, 2);
            this.#length = (chunk[at]! << 8) | chunk[at + 1]!;
          } else this.#length = (this.#readByte() << 8) | this.#readByte();
          this.#afterLength();
          break;
        }
        case LENGTH64: {
          if (this.#buffered < 8) return;
          let length = this.#readByte();
          // RFC 6455 §5.2: the most significant bit of a 64-bit length MUST be 0.
          if (length >= 0x80) {
            this.#fail('LENGTH_TOO_LARGE', 'frame length has the most significant bit set');
            return;
          }
          for (let i = 1; i < 8; i++) length = length * 256 + this.#readByte();
          this.#length = length;
          this.#afterLength();
          break;
        }
        case MASK: {
          if (this.#buffered < 4) return;
          const chunk = this.#chunks[0]!;
          const at = this.#offset;
          if (chunk.length - at >= 4) {
            this.#skip(chunk, 4);
            this.#keyWord = chunk[at]! | (chunk[at + 1]! << 8) | (chunk[at + 2]! << 16) |
              (chunk[at + 3]! << 24);
          } else {
            let key = 0;
            for (let i = 0; i < 32; i += 8) key |= this.#readByte() << i;
            this.#keyWord = key;
          }
          this.#startPayload();
          break;
        }
        case PAYLOAD:
          if (!this.#readPayload()) return;
          break;
        default:
          return;
      }
    }
  }

  /**
   * Whole-message mode, at a frame boundary with no message in progress: handles the run of complete,
   * unfragmented, uncompressed data frames that starts at `chunk[at]`, each delivered as a view of
   * `chunk` (a masked payload of up to INLINE_MAX bytes in an array of its own). Returns false, having
   * consumed nothing, when the first frame is not one of those (the general path then handles it,
   * including every error); true when it consumed at least one frame.
   */
  #smallFrames(chunk: Uint8Array, at: number): boolean {
    const end = chunk.length;
    const masked = this.#expectMask;
    const { maxFrameSize, maxMessageSize, validateUtf8 } = this.#options;
    // A single-frame message up to the smaller limit passes both.
    const limit = maxFrameSize < maxMessageSize ? maxFrameSize : maxMessageSize;
    const handler = this.#handler;
    const start = at;
    while (end - at >= 2) {
      const b0 = chunk[at]!;
      const b1 = chunk[at + 1]!;
      // FIN, no RSV bit, text or binary; the mask bit as the role expects (RFC 6455 §5.1, §5.2).
      if ((b0 !== 0x81 && b0 !== 0x82) || (b1 >= 0x80) !== masked) break;
      let length = b1 & 0x7f;
      let p = at + 2;
      if (length === 126) {
        if (end - p < 2) break;
        length = (chunk[p]! << 8) | chunk[p + 1]!;
        p += 2;
      } else if (length === 127) {
        // Only lengths below 2^32 here (the general path reads the rest, and its errors).
        if (end - p < 8 || (chunk[p]! | chunk[p + 1]! | chunk[p + 2]! | chunk[p + 3]!) !== 0) break;
        length = ((chunk[p + 4]! << 24) | (chunk[p + 5]! << 16) | (chunk[p + 6]! << 8) | chunk[p + 7]!) >>> 0;
        p += 8;
      }
      if (length > limit) break; // the general path fails it before buffering anything
      const payload = masked ? p + 4 : p;
      if (end - payload < length) break; // not all in this chunk
      const text = b0 === 0x81;
      const stop = payload + length;
      let high = 0;
      /** Where the message's bytes are: in the chunk, or (short masked payloads) in an array of their own. */
      let source = chunk;
      let from = payload;
      if (masked) {
        const k0 = chunk[p]!, k1 = chunk[p + 1]!, k2 = chunk[p + 2]!, k3 = chunk[p + 3]!;
        if (length <= INLINE_MAX) {
          // Short payloads: unmasked inline into an array of their own, noting any non-ASCII byte for text.
          // A fresh array this small costs less than a view of the chunk on V8 and JavaScriptCore, and does
          // not keep the whole chunk alive for as long as the application keeps the message.
          const own = new Uint8Array(length);
          let i = 0;
          for (let j = payload; length - i >= 4; i += 4, j += 4) {
            high |= (own[i] = chunk[j]! ^ k0) | (own[i + 1] = chunk[j + 1]! ^ k1) |
              (own[i + 2] = chunk[j + 2]! ^ k2) | (own[i + 3] = chunk[j + 3]! ^ k3);
          }
          for (; i < length; i++) high |= own[i] = chunk[payload + i]! ^ chunk[p + (i & 3)]!;
          source = own;
          from = 0;
        } else {
          const key = maskKey;
          key[0] = k0;
          key[1] = k1;
          key[2] = k2;
          key[3] = k3;
          const kernels = text && length >= WASM_MASK_MIN && validateUtf8 === undefined
            ? wasmKernels()
            : null;
          if (kernels !== null) {
            // Unmasked and validated in one pass through the kernels' memory.
            const utf8 = this.#utf8 ??= new Utf8Validator();
            utf8.reset();
            if (!unmaskWasm(kernels, chunk, key, 0, payload, stop, chunk, payload, utf8) || !utf8.finish()) {
              this.#badText();
              return true;
            }
          } else {
            // The view the message is delivered in is made first and unmasked (and validated) whole, so that
            // the kernels and the injected validator need no views of their own (one costs 35–90 ns on V8 and
            // JavaScriptCore).
            source = viewOf(chunk, payload, length);
            from = 0;
            applyMask(source, key, 0, 0, length, this.#options.mask);
            high = 0x80;
          }
        }
      } else {
        high = 0x80;
      }
      at = stop;
      this.#buffered -= at - this.#offset;
      this.#offset = at;
      if (text) {
        // RFC 6455 §8.1: a text message is valid UTF-8 (pure ASCII is).
        if (high >= 0x80 && length > 0 && !this.#validRange(source, from, from + length)) {
          this.#badText();
          return true;
        }
        // No view here: a text event that is never asked for its bytes never needs one.
        handler.onTextIn(source, from, length);
      } else {
        // Its own array, or a plain Uint8Array view of the chunk, whatever the chunk's class (Buffer#subarray
        // is several times slower).
        handler.onMessage(false, source !== chunk ? source : viewOf(chunk, payload, length));
      }
      if (this.#state !== HEADER) return true; // stopped by the handler
    }
    if (at === start) return false;
    if (at === end) {
      this.#shiftChunk();
    }
    return true;
  }

  /** The current frame's masking key, in `maskKey`. */
  #key(): Uint8Array {
    const word = this.#keyWord;
    const key = maskKey;
    key[0] = word;
    key[1] = word >>> 8;
    key[2] = word >>> 16;
    key[3] = word >>> 24;
    return key;
  }

  /** Validates a whole text message that arrived as one piece. */
  #validWhole(data: Uint8Array): boolean {
    return isValidText(this.#options.validateUtf8, data);
  }

  /** Validates a whole text message that is `source[start, end)`. */
  #validRange(source: Uint8Array, start: number, end: number): boolean {
    const fast = this.#options.validateUtf8;
    return fast !== undefined && end - start >= FAST_UTF8_MIN
      ? askInjected(fast, end - start === source.length ? source : viewOf(source, start, end - start))
      : isValidUtf8(source, start, end);
  }

  /** Advances past `n` bytes known to lie in `chunk` (= chunks[0]). */
  #skip(chunk: Uint8Array, n: number): void {
    this.#buffered -= n;
    this.#offset += n;
    if (this.#offset === chunk.length) {
      this.#shiftChunk();
    }
  }

  /**
   * Drops the consumed `chunks[0]`. After the last one the receiver goes back to the shared empty list
   * (`shift()` would keep the list's backing store, about 140 B on every idle connection).
   */
  #shiftChunk(): void {
    const chunks = this.#chunks;
    if (chunks.length === 1) this.#chunks = NONE;
    else chunks.shift();
    this.#offset = 0;
  }

  #readByte(): number {
    const chunk = this.#chunks[0]!;
    const byte = chunk[this.#offset]!;
    this.#skip(chunk, 1);
    return byte;
  }

  /** Takes `n` buffered bytes: a view when they lie in one chunk, else a copy. */
  #readBytes(n: number): Uint8Array {
    const first = this.#chunks[0]!;
    this.#buffered -= n;
    if (first.length - this.#offset >= n) {
      // A plain Uint8Array view, whatever the input's class (Buffer#subarray is several times slower).
      const view = viewOf(first, this.#offset, n);
      this.#offset += n;
      if (this.#offset === first.length) {
        this.#shiftChunk();
      }
      return view;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.#chunks[0]!;
      const take = Math.min(chunk.length - this.#offset, n - filled);
      out.set(chunk.subarray(this.#offset, this.#offset + take), filled);
      filled += take;
      this.#offset += take;
      if (this.#offset === chunk.length) {
        this.#shiftChunk();
      }
    }
    return out;
  }

  #readHeader(b0: number, b1: number): void {
    const fin = (b0 & 0x80) !== 0;
    const rsv1 = (b0 & 0x40) !== 0;
    const opcode = b0 & 0x0f;
    this.#fin = fin;
    this.#opcode = opcode;
    this.#masked = (b1 & 0x80) !== 0;
    const length = b1 & 0x7f;

    // RFC 6455 §5.2: RSV bits MUST be 0 unless an extension defining them was negotiated. RFC 7692 §6:
    // permessage-deflate defines RSV1, on the first frame of a data message only (§6.1).
    if ((b0 & 0x30) !== 0) return this.#fail('RESERVED_BITS', 'RSV2 or RSV3 is set');
    if (rsv1 && (this.inflater === null || opcode === OP_CONTINUATION || opcode >= 8)) {
      return this.#fail('RESERVED_BITS', 'RSV1 is set without a negotiated extension using it');
    }

    // RFC 6455 §5.2: opcodes 0x3-0x7 and 0xB-0xF are reserved.
    if ((opcode & 7) > 2) return this.#fail('RESERVED_OPCODE', `reserved opcode ${opcode}`);
    if (opcode >= 8) {
      // RFC 6455 §5.5: control frames.
      if (!fin) return this.#fail('CONTROL_FRAME_FRAGMENTED', 'control frames must not be fragmented');
      if (length > MAX_CONTROL_PAYLOAD) {
        return this.#fail('CONTROL_FRAME_TOO_LONG', 'control frame payload longer than 125 bytes');
      }
    } else if (opcode === OP_CONTINUATION) {
      // RFC 6455 §5.4: a continuation frame continues a fragmented message; there must be one.
      if (!this.#inMessage) {
        return this.#fail('UNEXPECTED_CONTINUATION', 'continuation with nothing to continue');
      }
    } else {
      // A text or binary frame. RFC 6455 §5.4: fragments of one message are not interleaved with another
      // data message.
      if (this.#inMessage) {
        return this.#fail('EXPECTED_CONTINUATION', 'new data frame inside a fragmented message');
      }
      this.#compressed = rsv1;
    }

    // RFC 6455 §5.1: a server MUST close on an unmasked frame, a client on a masked one.
    if (this.#masked !== this.#expectMask) {
      return this.#expectMask
        ? this.#fail('MASK_EXPECTED', 'client frames must be masked')
        : this.#fail('MASK_UNEXPECTED', 'server frames must not be masked');
    }

    if (length === 126) this.#state = LENGTH16;
    else if (length === 127) this.#state = LENGTH64;
    else {
      this.#length = length;
      this.#afterLength();
    }
  }

  #afterLength(): void {
    if (this.#opcode < 8) {
      // Refuse oversized frames before buffering any of their payload.
      if (this.#length > this.#options.maxFrameSize) {
        return this.#fail('FRAME_TOO_BIG', `frame of ${this.#length} bytes exceeds the limit`, 1009);
      }
      const starting = this.#opcode !== OP_CONTINUATION;
      const sofar = starting ? 0 : this.#messageLength;
      // Compressed sizes say nothing of the message size: those are counted while inflating.
      if (!this.#compressed && sofar + this.#length > this.#options.maxMessageSize) {
        return this.#tooBig();
      }
    }
    if (this.#masked) this.#state = MASK;
    else this.#startPayload();
  }

  #startPayload(): void {
    this.#read = 0;
    this.#state = PAYLOAD;
    const opcode = this.#opcode;
    if (opcode === OP_TEXT || opcode === OP_BINARY) {
      this.#inMessage = true;
      this.#text = opcode === OP_TEXT;
      this.#messageLength = 0;
      if (this.#text) (this.#utf8 ??= new Utf8Validator()).reset();
      this.#assembling = this.wholeMessages;
      if (!this.#assembling) this.#handler.onMessageStart(this.#text, this.#compressed);
    }
  }

  /** Returns false when it needs more input. */
  #readPayload(): boolean {
    const remaining = this.#length - this.#read;
    if (this.#opcode >= 8) {
      if (this.#buffered < remaining) return false;
      const payload = remaining === 0 ? EMPTY : this.#readBytes(remaining);
      if (this.#masked) applyMask(payload, this.#key(), 0);
      this.#state = HEADER;
      this.#control(payload);
      return true;
    }
    if (remaining === 0) {
      this.#state = HEADER;
      this.#payloadPiece(EMPTY, true);
      return true;
    }
    if (this.#buffered === 0) return false;
    // One piece per chunk: a view, never a copy.
    const available = this.#chunks[0]!.length - this.#offset;
    const piece = this.#readBytes(available < remaining ? available : remaining);
    const phase = this.#read;
    this.#read += piece.length;
    const frameDone = this.#read === this.#length;
    if (frameDone) this.#state = HEADER;
    if (this.#masked) {
      // A piece of a frame assembled in a pre-sized buffer: unmasked (and validated) on its way there.
      if (
        this.#assembling && !this.#compressed && piece.length >= WASM_MASK_MIN &&
        (this.#frame !== null || (!frameDone && this.#length <= PRESIZE_MAX))
      ) {
        const native = this.#options.mask;
        const kernels = native === undefined ? wasmKernels() : null;
        if (kernels !== null || native !== undefined) {
          this.#gatherMasked(kernels, piece, phase, frameDone);
          return true;
        }
      }
      applyMask(piece, this.#key(), phase, 0, piece.length, this.#options.mask);
    }
    this.#payloadPiece(piece, frameDone);
    return true;
  }

  /**
   * Whole-message mode, uncompressed: a masked piece of a frame that spans chunks, unmasked straight into
   * the frame's buffer, by the injected masker (`kernels` null: one pass) or by the kernels, which also
   * validate text on the way (one copy into their memory and one out), instead of unmasking in place,
   * validating and copying. `at`: where the piece starts in the frame, which is also its masking phase.
   */
  #gatherMasked(kernels: WasmExports | null, piece: Uint8Array, at: number, frameDone: boolean): void {
    const frame = this.#frame ??= allocateWith(this.#options.allocate, this.#length);
    const n = piece.length;
    this.#messageLength += n;
    const key = this.#key();
    const inline = kernels !== null && this.#text && this.#options.validateUtf8 === undefined;
    if (kernels === null) applyMask(piece, key, at, 0, n, this.#options.mask, frame, at);
    else if (!unmaskWasm(kernels, piece, key, at, 0, n, frame, at, inline ? this.#utf8 : null)) {
      return this.#badText();
    }
    if (this.#text && !inline && !this.#validateText(frame.subarray(at, at + n))) return this.#badText();
    if (frameDone) {
      this.#frame = null;
      this.#keep(frame);
      this.#payloadPiece(EMPTY, true);
    }
  }

  #payloadPiece(piece: Uint8Array, frameDone: boolean): void {
    const messageDone = frameDone && this.#fin;
    if (this.#compressed) {
      const budget = this.#options.maxMessageSize - this.#messageLength;
      const onInflated = this.#onInflated ??= (chunk) => this.#deliver(chunk);
      const result = this.inflater!.decompress(piece, messageDone, budget, onInflated);
      if (this.#state === STOPPED) return; // failed inside #deliver
      if (result === 'too-big') return this.#tooBig();
      if (result === 'invalid') {
        return this.#fail('INVALID_COMPRESSED_DATA', 'compressed data cannot be inflated', 1007);
      }
    } else if (piece.length > 0) {
      if (messageDone && piece.length === this.#length && this.#messageLength === 0) {
        // A whole single-frame message in one piece: whole-buffer validation, delivered as is.
        if (this.#text && !this.#validWhole(piece)) {
          return this.#badText();
        }
        this.#messageLength = piece.length;
        this.#inMessage = false;
        if (this.#assembling) this.#handler.onMessage(this.#text, piece);
        else {
          this.#handler.onMessageData(piece);
          this.#handler.onMessageEnd();
        }
        return;
      }
      if (!this.#accept(piece)) return;
      if (this.#assembling) this.#gather(piece, frameDone);
      else this.#handler.onMessageData(piece);
    }
    if (messageDone) {
      // RFC 6455 §8.1: a text message must end on a code point boundary.
      if (this.#text && !this.#utf8!.finish()) {
        return this.#fail('INVALID_UTF8', 'text message ends inside a UTF-8 sequence', 1007);
      }
      this.#inMessage = false;
      if (this.#assembling) this.#handler.onMessage(this.#text, this.#takeMessage());
      else this.#handler.onMessageEnd();
    }
  }

  /**
   * Whole-message mode, uncompressed: keeps a piece of the current frame. A frame of up to PRESIZE_MAX
   * bytes that spans chunks is copied into one buffer of its size as its pieces arrive; anything else is
   * kept as it is (a view) and copied once when the message ends.
   */
  #gather(piece: Uint8Array, frameDone: boolean): void {
    let frame = this.#frame;
    if (frame === null) {
      // The first piece of a frame that does not fit in it (a whole frame in one piece is kept as is).
      if (frameDone || this.#length > PRESIZE_MAX) return this.#keep(piece);
      frame = this.#frame = allocateWith(this.#options.allocate, this.#length);
    }
    // #read counts this piece already.
    frame.set(piece, this.#read - piece.length);
    if (frameDone) {
      this.#frame = null;
      this.#keep(frame);
    }
  }

  #keep(piece: Uint8Array): void {
    const kept = this.#kept;
    if (kept === null) this.#kept = piece;
    else if (kept instanceof Uint8Array) this.#kept = [kept, piece];
    else kept.push(piece);
  }

  /** Whole-message mode: the message gathered so far, as one buffer (copied only if in pieces). */
  #takeMessage(): Uint8Array {
    const kept = this.#kept;
    this.#kept = null;
    if (kept === null) return new Uint8Array(0);
    if (kept instanceof Uint8Array) return kept;
    // Two pieces or more (a single one is kept as it is).
    return concat(kept, this.#messageLength, allocateWith(this.#options.allocate, this.#messageLength));
  }

  /** Counts and validates a piece of (decompressed) message data; false when the connection failed. */
  #accept(data: Uint8Array): boolean {
    this.#messageLength += data.length;
    if (this.#compressed && this.#messageLength > this.#options.maxMessageSize) {
      this.#tooBig();
      return false;
    }
    // RFC 6455 §8.1: fail fast, at the first piece that can no longer be valid UTF-8.
    if (this.#text && !this.#validateText(data)) {
      this.#badText();
      return false;
    }
    return true;
  }

  /** Validates and hands on a piece of decompressed message data. */
  #deliver(data: Uint8Array): void {
    if (this.#state === STOPPED || data.length === 0 || !this.#accept(data)) return;
    if (this.#assembling) this.#keep(data);
    else this.#handler.onMessageData(data);
  }

  /**
   * Validates a piece of text incrementally. With an injected whole-buffer validator (much faster than
   * ours on Node), only the bytes that straddle piece boundaries go through the incremental one: a
   * sequence left open by the previous piece is finished byte by byte, the piece is cut after its last
   * complete code point, the middle goes to the fast validator and the open tail back to ours. A
   * violation in the middle is final (the cut only removes an incomplete sequence), so this still fails
   * fast.
   */
  #validateText(data: Uint8Array): boolean {
    const fast = this.#options.validateUtf8;
    const utf8 = this.#utf8!;
    if (fast === undefined || data.length < FAST_UTF8_MIN) return utf8.update(data);
    const end = data.length;
    let start = 0;
    while (start < end && !utf8.finish()) {
      if (!utf8.update(data, start, start + 1)) return false;
      start++;
    }
    let cut = end;
    let k = end - 1;
    const lowest = Math.max(start, end - 4);
    while (k >= lowest && (data[k]! & 0xc0) === 0x80) k--;
    if (k >= lowest) {
      const lead = data[k]!;
      const needed = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
      if (k + needed > end) cut = k;
    }
    if (
      cut > start && !askInjected(fast, viewOf(data, start, cut - start))
    ) {
      return false;
    }
    return cut === end || utf8.update(data, cut, end);
  }

  #control(payload: Uint8Array): void {
    switch (this.#opcode) {
      case OP_PING:
        this.#handler.onPing(payload);
        return;
      case OP_PONG:
        this.#handler.onPong(payload);
        return;
      default:
        return this.#close(payload);
    }
  }

  #close(payload: Uint8Array): void {
    let code = 1005;
    let reason = '';
    if (payload.length === 1) {
      // RFC 6455 §5.5.1: a close body, if present, starts with a 2-byte status code.
      return this.#fail('INVALID_CLOSE_PAYLOAD', 'close frame payload of 1 byte');
    }
    if (payload.length >= 2) {
      code = (payload[0]! << 8) | payload[1]!;
      if (!isValidReceivedCloseCode(code)) {
        return this.#fail('INVALID_CLOSE_CODE', `invalid close code ${code}`);
      }
      const validator = new Utf8Validator();
      // RFC 6455 §5.5.1: the close reason is UTF-8.
      if (!validator.update(payload, 2) || !validator.finish()) {
        return this.#fail('INVALID_UTF8', 'close reason is not valid UTF-8', 1007);
      }
      reason = utf8Decoder.decode(payload.subarray(2));
    }
    this.stop();
    this.#handler.onClose(code, reason);
  }

  /** A text message's bytes cannot be UTF-8 (RFC 6455 §8.1): 1007. */
  #badText(): void {
    this.#fail('INVALID_UTF8', 'text message is not valid UTF-8', 1007);
  }

  /** The message would exceed `maxMessageSize` (RFC 6455 §7.4.1): 1009. */
  #tooBig(): void {
    this.#fail('MESSAGE_TOO_BIG', 'message exceeds the size limit', 1009);
  }

  /** Stops the receiver and reports the peer's violation `code` with the close code to send (default 1002). */
  #fail(code: ProtocolErrorCode, message: string, closeCode = 1002): void {
    if (this.#state === STOPPED) return;
    this.stop();
    this.#handler.onError(new ProtocolError(code, closeCode, message));
  }
}
