/**
 * `@sansws/zlib`: the native-speed DEFLATE codec for permessage-deflate, over the runtime's own zlib.
 *
 * It implements `@sansws/core/deflate`'s `DeflateCodec` (structurally, so this package needs no runtime code of the
 * core) on Node, Bun and Deno, which all ship `node:zlib`. The core is synchronous, and `node:zlib` has no
 * public synchronous API that keeps a context between calls: `deflateRawSync` and friends run
 * `_processChunk` once and close the zlib handle (checked in `bench/codecs.mjs` on all three runtimes). So
 * we use minizlib, which drives the same native handle through `_processChunk` while keeping it open, and
 * keeps the LZ77 window across messages as RFC 7692 context takeover needs. Measured with bench/codecs.mjs
 * (round trips on kept contexts, level 6, a shared 2-core machine): 1.1–1.9× faster than pako 3 on 64 KiB
 * JSON messages and 1.3–5.6× on 512-byte ones, on Node 20, Bun 1.4 and Deno 2.9 alike; fflate 0.8.3's
 * streaming sync flush corrupts long streams, so it cannot serve. Caveat: minizlib swaps the global
 * `Buffer.concat` for a no-op during each zlib call (restoring it before any user code runs).
 *
 * Bounded inflation. `Inflater.inflate` must stop once its output would exceed `maxOutput`. zlib itself
 * can: it writes into an output buffer of a given size, and `node:zlib`'s synchronous loop checks its
 * `maxOutputLength` option after every output chunk and throws `ERR_BUFFER_TOO_LARGE`. We set that limit
 * (the `_maxOutputLength` field, which `maxOutputLength` initialises) before each call, so a bomb stops
 * after at most `maxOutput + chunkSize` bytes of output were allocated (16 KiB of slack by default) and
 * nothing of the failed call is delivered. That beats bounding by the input: DEFLATE expands at most
 * 1032:1, so bounding by input means feeding the inflater pieces of `remaining / 1032` bytes (at least 64,
 * i.e. up to 66 KiB of slack), which near the limit costs hundreds of calls of ~15 µs each. Bun 1.4 and
 * Deno 2.9 honour the field as Node does (tested); where it is missing, or with `portableBound`, the
 * inflater falls back to that input-piece bound.
 */

import { Buffer } from 'node:buffer';
import { constants, DeflateRaw, InflateRaw } from 'minizlib';

const Z_SYNC_FLUSH: number = constants.Z_SYNC_FLUSH;

/**
 * What we use of `node:zlib`'s object behind a minizlib stream. `_maxOutputLength` is the
 * `maxOutputLength` option; `_writeState` holds `[availOutAfter, availInAfter]` of the last zlib call.
 */
interface NodeZlibInternals {
  _maxOutputLength?: number;
  _writeState?: Uint32Array;
}

/** An empty stored block at a byte boundary: BFINAL 0, BTYPE 00, padding, LEN 0, NLEN 0xffff. */
const EMPTY_FLUSH = Uint8Array.of(0x00, 0x00, 0x00, 0xff, 0xff);

/** DEFLATE's largest expansion: a 258-byte match coded in 2 bits gives 1032 output bytes per input byte. */
const MAX_RATIO = 1032;
/** Smallest input piece of the portable bound, so that a message near its limit is not inflated bytewise. */
const MIN_PIECE = 64;

/**
 * zlib's smallest usable raw-deflate window is 9 bits. Deflating: since zlib 1.2.9, `deflateInit2` rejects
 * 8 for raw streams (it used to silently use 9), yet 9 is safe for a peer that agreed to 8: zlib never
 * emits a distance beyond `2 ** windowBits − MIN_LOOKAHEAD` (512 − 262 = 250 bytes), which fits a 256-byte
 * window (test/window8.test.ts checks it with a strict 256-byte decoder). Inflating: 9 accepts every stream
 * valid for 8, and also forgives an encoder other than zlib that took an agreed 8 to mean 9.
 */
function zlibWindowBits(windowBits: number): number {
  return Math.max(windowBits, 9);
}

/**
 * Inputs and outputs of up to this many bytes are copied rather than viewed. A small typed array can live
 * inside the JavaScript heap (JavaScriptCore keeps those of up to about a thousand elements there, V8 those
 * of up to 64 bytes), and reading its `.buffer` first moves it out, which costs several times the copy: a
 * Buffer of a fresh 20-byte array took 240 ns as a view against 39 as a copy on Bun, 334 against 82 on Node;
 * a plain array of a fresh 20-byte Buffer 276 against 99 ns on Bun (131 against 123 on Node).
 */
const COPY_MAX = 1024;

/** `data` as the Buffer minizlib takes: small ones copied (see {@link COPY_MAX}), others viewed. */
function toBuffer(data: Uint8Array): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return data.length <= COPY_MAX
    ? Buffer.from(data)
    : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * An output chunk as the engine delivers messages, a plain Uint8Array: small ones copied out of their Buffer
 * (see {@link COPY_MAX}), so that neither the engine nor Conn has to view them through `.buffer`.
 */
function toPlain(chunk: Buffer): Uint8Array {
  return chunk.length <= COPY_MAX ? new Uint8Array(chunk) : chunk;
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  let length = 0;
  for (const c of chunks) length += c.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

type ZlibFailure = Error & { code?: string };

/** Settings of {@link createZlibCodec}. */
export interface ZlibCodecOptions {
  /**
   * Size of zlib's output chunks, in bytes, at least 64. Each deflater and inflater holds one such buffer,
   * and it is the slack of the bounded inflation. Default 16 KiB (`node:zlib`'s default).
   */
  readonly chunkSize?: number;
  /**
   * Bound inflation by feeding the input in pieces (at most 1032 output bytes per input byte) even where
   * zlib can stop at an output limit itself. Slower near the limit; for tests and for runtimes whose
   * `node:zlib` would ignore the limit without the detection noticing. Default `false`.
   */
  readonly portableBound?: boolean;
}

/** A raw-DEFLATE compressor with a sync flush after every call (see `Deflater` in `@sansws/core`). */
export class ZlibDeflater {
  readonly #z: DeflateRaw;
  #chunks: Buffer[] = [];
  #error: ZlibFailure | undefined;

  /** @param options As in the core's `DeflaterOptions`; `windowBits` 8 compresses with 9 (see above). */
  constructor(
    options: { readonly windowBits: number; readonly level: number; readonly memLevel: number },
    chunkSize: number,
  ) {
    this.#z = new DeflateRaw(
      {
        windowBits: zlibWindowBits(options.windowBits),
        level: options.level,
        memLevel: options.memLevel,
        chunkSize,
        // Every write ends with a sync flush: RFC 7692 §7.2.1 builds on its 00 00 ff ff tail.
        flush: Z_SYNC_FLUSH,
      } as ConstructorParameters<typeof DeflateRaw>[0],
    );
    this.#z.on('data', (chunk: Buffer) => this.#chunks.push(chunk));
    this.#z.on('error', (error: unknown) => this.#error = error as ZlibFailure);
  }

  /** Compresses `data` and flushes; the output ends with `00 00 ff ff`. Throws zlib's error, if any. */
  deflate(data: Uint8Array): Uint8Array {
    // zlib emits nothing for a sync flush right after another (Z_BUF_ERROR, no progress). The stream is
    // byte-aligned after a sync flush, so an empty stored block is exactly what the flush would have added.
    if (data.length === 0 && this.#error === undefined) return EMPTY_FLUSH.slice();
    if (this.#error === undefined) this.#z.write(toBuffer(data));
    if (this.#error !== undefined) throw this.#error;
    const chunks = this.#chunks;
    this.#chunks = [];
    // minizlib copies zlib's reused output buffer, so every chunk is ours to hand on.
    return concat(chunks);
  }

  /** Starts a new stream with an empty window. */
  reset(): void {
    if (this.#error === undefined) this.#z.reset();
  }

  /** Frees zlib's memory. */
  close(): void {
    this.#z.close();
  }
}

/** A bounded raw-DEFLATE decompressor (see `Inflater` in `@sansws/core/deflate`). */
export class ZlibInflater {
  readonly #z: InflateRaw;
  readonly #internals: NodeZlibInternals | undefined;
  readonly #nativeBound: boolean;
  #chunks: Buffer[] = [];
  #error: ZlibFailure | undefined;

  /** @param options As in the core's `InflaterOptions`. */
  constructor(options: { readonly windowBits: number }, chunkSize: number, portableBound: boolean) {
    this.#z = new InflateRaw(
      {
        windowBits: zlibWindowBits(options.windowBits),
        chunkSize,
        flush: Z_SYNC_FLUSH,
      } as ConstructorParameters<typeof InflateRaw>[0],
    );
    this.#z.on('data', (chunk: Buffer) => this.#chunks.push(chunk));
    this.#z.on('error', (error: unknown) => this.#error = error as ZlibFailure);
    this.#internals = this.#z.handle as unknown as NodeZlibInternals | undefined;
    this.#nativeBound = !portableBound && typeof this.#internals?._maxOutputLength === 'number';
  }

  /** Whether this inflater stops at the output limit inside zlib (else it bounds by input pieces). */
  get nativeBound(): boolean {
    return this.#nativeBound;
  }

  /** Inflates `input`, passing at most `maxOutput` bytes to `onData` (see `Inflater.inflate`). */
  inflate(
    input: Uint8Array,
    maxOutput: number,
    onData: (chunk: Uint8Array) => void,
  ): 'ok' | 'end' | 'too-big' | 'invalid' {
    if (this.#error !== undefined) return 'invalid';
    const buffer = toBuffer(input);
    if (this.#nativeBound) {
      // node:zlib throws ERR_BUFFER_TOO_LARGE once the output of this call exceeds the limit.
      this.#internals!._maxOutputLength = Math.max(0, Math.min(maxOutput, Number.MAX_SAFE_INTEGER));
      return this.#write(buffer, maxOutput, onData);
    }
    // Portable bound: pieces whose worst-case output fits what is left of maxOutput (at least MIN_PIECE).
    let left = maxOutput;
    let offset = 0;
    do {
      const size = Math.max(MIN_PIECE, Math.floor(left / MAX_RATIO));
      const status = this.#write(buffer.subarray(offset, offset + size), left, (chunk) => {
        left -= chunk.length;
        onData(chunk);
      });
      if (status !== 'ok') return status;
      offset += size;
    } while (offset < buffer.length);
    return 'ok';
  }

  /** One zlib call; delivers its output only if it fits `maxOutput`. */
  #write(
    buffer: Buffer,
    maxOutput: number,
    onData: (chunk: Uint8Array) => void,
  ): 'ok' | 'end' | 'too-big' | 'invalid' {
    this.#z.write(buffer);
    const chunks = this.#chunks;
    this.#chunks = [];
    if (this.#error !== undefined) return this.#error.code === 'ERR_BUFFER_TOO_LARGE' ? 'too-big' : 'invalid';
    let total = 0;
    for (const c of chunks) total += c.length;
    if (total > maxOutput) {
      // Only the portable path gets here: stop for good, like the native bound does.
      this.#error = Object.assign(new Error('inflated output exceeds the limit'), {
        code: 'ERR_BUFFER_TOO_LARGE',
      });
      this.#z.close();
      return 'too-big';
    }
    for (const c of chunks) onData(toPlain(c));
    // With output space left, zlib consumes all input unless the stream ended (a BFINAL block): unconsumed
    // input means the end, and the inflater must be reset before the next stream.
    const state = this.#internals?._writeState;
    return state !== undefined && state[1]! > 0 ? 'end' : 'ok';
  }

  /** Starts a new stream with an empty window. */
  reset(): void {
    if (this.#error === undefined) this.#z.reset();
  }

  /** Frees zlib's memory. */
  close(): void {
    this.#z.close();
  }
}

/** A `DeflateCodec` (see `@sansws/core`) over the runtime's zlib. */
export interface ZlibCodec {
  /** Creates a deflater; never `null`, since zlib honours every window 8..15 (8 as 9, safely). */
  createDeflater(
    options: { readonly windowBits: number; readonly level: number; readonly memLevel: number },
  ): ZlibDeflater;
  /** Creates a bounded inflater. */
  createInflater(options: { readonly windowBits: number }): ZlibInflater;
}

/**
 * Creates a codec with non-default settings; most programs use {@link zlibCodec}.
 *
 * @throws {RangeError} when `chunkSize` is not an integer ≥ 64.
 */
export function createZlibCodec(options: ZlibCodecOptions = {}): ZlibCodec {
  const chunkSize = options.chunkSize ?? 16 * 1024;
  if (!Number.isInteger(chunkSize) || chunkSize < 64) {
    throw new RangeError('chunkSize must be an integer ≥ 64');
  }
  const portableBound = options.portableBound === true;
  return {
    createDeflater: (o) => new ZlibDeflater(o, chunkSize),
    createInflater: (o) => new ZlibInflater(o, chunkSize, portableBound),
  };
}

/** The default codec: 16 KiB output chunks, bounded inflation inside zlib where the runtime allows. */
export const zlibCodec: ZlibCodec = createZlibCodec();

export { clientCompression, serverCompression } from './shorthand.ts';
export type { ZlibClientCompression, ZlibServerCompression } from './shorthand.ts';
