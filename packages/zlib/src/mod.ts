/**
 * `@sansws/zlib`: the native-speed DEFLATE codec for permessage-deflate, over the runtime's own zlib.
 *
 * It implements `@sansws/core/deflate`'s `DeflateCodec` (structurally, so this package needs no runtime code of the
 * core) on Node, Bun and Deno, which all ship `node:zlib`. The core is synchronous, and `node:zlib` has no
 * public synchronous API that keeps a context between calls: `deflateRawSync` and friends run one pass and
 * close the zlib handle (checked in `bench/codecs.mjs` on all three runtimes). So each deflater and inflater
 * is a `node:zlib` raw stream that we never write to as a stream: we call its native handle's `writeSync`
 * ourselves, in the loop `node:zlib`'s synchronous functions run, and keep the handle open, so the LZ77
 * window stays across messages as RFC 7692 context takeover needs. The handle, its `writeSync`, its
 * `onerror` and the stream's `_writeState` are `node:zlib` internals that Node 20, Bun 1.4 and Deno 2.9 share
 * (the tests run on all three). Measured with bench/codecs.mjs (round trips on kept contexts, level 6, a
 * shared 2-core machine), this path through the runtime's zlib was 1.1–1.9× faster than pako 3 on 64 KiB JSON
 * messages and 1.3–5.6× on 512-byte ones; fflate 0.8.3's streaming sync flush corrupts long streams, so it
 * cannot serve.
 *
 * Bounded inflation. `Inflater.inflate` must stop once its output would exceed `maxOutput`. zlib writes into
 * an output buffer of a given size (`chunkSize`), and after each call the inflater adds up what it wrote:
 * past the limit it stops and delivers nothing of that call, so a bomb stops after at most `maxOutput +
 * chunkSize` bytes of output were allocated (16 KiB of slack by default). That beats bounding by the input:
 * DEFLATE expands at most 1032:1, so bounding by input means feeding the inflater pieces of `remaining /
 * 1032` bytes (at least 64, i.e. up to 66 KiB of slack), which near the limit costs hundreds of calls of ~15
 * µs each; `portableBound` selects that way, for tests.
 */

import { constants, createDeflateRaw, createInflateRaw } from 'node:zlib';

const Z_SYNC_FLUSH: number = constants.Z_SYNC_FLUSH;

/**
 * What we use of a `node:zlib` stream: its native handle, and `_writeState`, which the handle's `writeSync`
 * fills with `[availOutAfter, availInAfter]`. The same on Node, Bun and Deno (tested on each).
 */
interface ZlibStream {
  readonly _handle: NativeZlib;
  readonly _writeState: Uint32Array;
  close(): void;
}

/** `node:zlib`'s native handle: one synchronous zlib call, errors reported to `onerror` during it. */
interface NativeZlib {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOffset: number,
    inLength: number,
    output: Uint8Array,
    outOffset: number,
    outLength: number,
  ): void;
  onerror: (message: string, errno: number) => void;
  reset(): void;
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

type ZlibFailure = Error & { code?: string; errno?: number };

/** zlib's error numbers by name, as `node:zlib` reports them in `code`. */
const ERROR_CODES: Readonly<Record<number, string>> = {
  2: 'Z_NEED_DICT',
  [-1]: 'Z_ERRNO',
  [-2]: 'Z_STREAM_ERROR',
  [-3]: 'Z_DATA_ERROR',
  [-4]: 'Z_MEM_ERROR',
  [-5]: 'Z_BUF_ERROR',
  [-6]: 'Z_VERSION_ERROR',
};

/**
 * The output buffer that every stream of one codec writes into (the calls are synchronous, never nested),
 * made on first use, so that a program that never compresses does not hold it.
 */
interface Scratch {
  bytes: Uint8Array | null;
  readonly size: number;
}

/**
 * The `chunkSize` we give `node:zlib`'s streams: the smallest it takes. A stream allocates an output buffer
 * of that size, which we never use (the codec's scratch is the output buffer), so the default would cost 16
 * KiB per stream for nothing.
 */
const UNUSED_CHUNK = 64;

/** What {@link NativeStream.run} returns besides the input left over. */
const FAILED = -1;
const TOO_BIG = -2;

/**
 * One `node:zlib` stream driven through its native handle's `writeSync`, as `node:zlib`'s own synchronous
 * functions do, but without closing the handle after the call, so the LZ77 window stays for the next one.
 * Once closed or failed it never calls the handle again: Node aborts the process on a write to a closed one.
 */
class NativeStream {
  readonly #stream: ZlibStream;
  readonly #scratch: Scratch;
  /** The first error zlib reported, or the close; the stream is unusable from then on. */
  error: ZlibFailure | undefined;

  constructor(stream: unknown, scratch: Scratch) {
    this.#stream = stream as ZlibStream;
    this.#scratch = scratch;
    this.#stream._handle.onerror = (message, errno) => {
      this.error ??= Object.assign(new Error(message), { errno, code: ERROR_CODES[errno] ?? 'Z_UNKNOWN' });
    };
  }

  /**
   * Feeds `input` to zlib with a sync flush and appends the output to `out` (empty: it is left empty on
   * failure). Full output buffers are handed over as they are (the scratch is replaced), the last one is
   * copied out, so every chunk is a plain Uint8Array of its own. Output beyond `limit` bytes fails the stream
   * for good: the output dropped would be missing from the window.
   *
   * @returns the input zlib left unconsumed (with output space left, only after the end of a stream), or
   *   `FAILED` or `TOO_BIG` (see `error`).
   */
  run(input: Uint8Array, limit: number, out: Uint8Array[]): number {
    if (this.error !== undefined) return FAILED;
    const handle = this.#stream._handle;
    const state = this.#stream._writeState;
    const scratch = this.#scratch;
    let inOffset = 0;
    let inLength = input.length;
    let total = 0;
    for (;;) {
      const buffer = scratch.bytes ??= new Uint8Array(scratch.size);
      handle.writeSync(Z_SYNC_FLUSH, input, inOffset, inLength, buffer, 0, buffer.length);
      if (this.error !== undefined) return this.#failed(out, FAILED);
      const availOut = state[0]!;
      const availIn = state[1]!;
      const have = buffer.length - availOut;
      if (have > 0) {
        total += have;
        if (total > limit) {
          this.error = Object.assign(new Error('inflated output exceeds the limit'), {
            code: 'ERR_BUFFER_TOO_LARGE',
          });
          return this.#failed(out, TOO_BIG);
        }
        if (availOut === 0) {
          scratch.bytes = new Uint8Array(buffer.length);
          out.push(buffer);
        } else {
          out.push(buffer.slice(0, have));
        }
      }
      if (availOut !== 0) return availIn;
      inOffset += inLength - availIn;
      inLength = availIn;
    }
  }

  #failed(out: Uint8Array[], status: number): number {
    out.length = 0;
    return status;
  }

  /** Starts a new stream with an empty window (not after a failure or the close). */
  reset(): void {
    if (this.error === undefined) this.#stream._handle.reset();
  }

  /** Frees zlib's memory; later calls fail as after an error. */
  close(): void {
    if (this.error?.code === 'ERR_ZLIB_CLOSED') return;
    this.error = Object.assign(new Error('zlib stream closed'), { code: 'ERR_ZLIB_CLOSED' });
    this.#stream.close();
  }
}

/** Settings of {@link createZlibCodec}. */
export interface ZlibCodecOptions {
  /**
   * Size of zlib's output buffer, in bytes, at least 64: the most one zlib call writes, and the slack of the
   * bounded inflation. One such buffer is shared by all streams of a codec. Default 16 KiB (`node:zlib`'s).
   */
  readonly chunkSize?: number;
  /**
   * Bound inflation by feeding the input in pieces (at most 1032 output bytes per input byte) instead of
   * stopping at the output limit after each zlib call. Slower near the limit; for tests. Default `false`.
   */
  readonly portableBound?: boolean;
}

/**
 * A raw-DEFLATE compressor with a sync flush after every call (see `Deflater` in `@sansws/core`). Made by a
 * codec's `createDeflater` (see {@link createZlibCodec}), which shares its output buffer with it.
 */
export class ZlibDeflater {
  readonly #z: NativeStream;
  readonly #out: Uint8Array[] = [];

  /** @param options As in the core's `DeflaterOptions`; `windowBits` 8 compresses with 9 (see above). */
  constructor(
    options: { readonly windowBits: number; readonly level: number; readonly memLevel: number },
    scratch: Scratch,
  ) {
    this.#z = new NativeStream(
      createDeflateRaw({
        windowBits: zlibWindowBits(options.windowBits),
        level: options.level,
        memLevel: options.memLevel,
        chunkSize: UNUSED_CHUNK,
      }),
      scratch,
    );
  }

  /**
   * Compresses `data` and flushes; the output ends with `00 00 ff ff`. Throws zlib's error, if any (and after
   * {@link close}).
   */
  deflate(data: Uint8Array): Uint8Array {
    const z = this.#z;
    if (z.error !== undefined) throw z.error;
    // zlib emits nothing for a sync flush right after another (Z_BUF_ERROR, no progress). The stream is
    // byte-aligned after a sync flush, so an empty stored block is exactly what the flush would have added.
    if (data.length === 0) return EMPTY_FLUSH.slice();
    const out = this.#out;
    if (z.run(data, Infinity, out) === FAILED) throw z.error;
    const result = concat(out);
    out.length = 0;
    return result;
  }

  /** Starts a new stream with an empty window. */
  reset(): void {
    this.#z.reset();
  }

  /** Frees zlib's memory. */
  close(): void {
    this.#z.close();
  }
}

/**
 * A bounded raw-DEFLATE decompressor (see `Inflater` in `@sansws/core/deflate`). Made by a codec's
 * `createInflater` (see {@link createZlibCodec}), which shares its output buffer with it.
 */
export class ZlibInflater {
  readonly #z: NativeStream;
  readonly #portableBound: boolean;
  readonly #out: Uint8Array[] = [];

  /** @param options As in the core's `InflaterOptions`. */
  constructor(options: { readonly windowBits: number }, scratch: Scratch, portableBound: boolean) {
    this.#z = new NativeStream(
      createInflateRaw({ windowBits: zlibWindowBits(options.windowBits), chunkSize: UNUSED_CHUNK }),
      scratch,
    );
    this.#portableBound = portableBound;
  }

  /** Whether this inflater stops at the output limit after each zlib call (else it bounds by input pieces). */
  get nativeBound(): boolean {
    return !this.#portableBound;
  }

  /** Inflates `input`, passing at most `maxOutput` bytes to `onData` (see `Inflater.inflate`). */
  inflate(
    input: Uint8Array,
    maxOutput: number,
    onData: (chunk: Uint8Array) => void,
  ): 'ok' | 'end' | 'too-big' | 'invalid' {
    if (this.#z.error !== undefined) return 'invalid';
    if (!this.#portableBound) return this.#write(input, maxOutput, onData);
    // Portable bound: pieces whose worst-case output fits what is left of maxOutput (at least MIN_PIECE).
    let left = maxOutput;
    let offset = 0;
    do {
      const size = Math.max(MIN_PIECE, Math.floor(left / MAX_RATIO));
      const status = this.#write(input.subarray(offset, offset + size), left, (chunk) => {
        left -= chunk.length;
        onData(chunk);
      });
      if (status !== 'ok') return status;
      offset += size;
    } while (offset < input.length);
    return 'ok';
  }

  /** One pass of zlib over `input`; delivers its output only if it fits `maxOutput`. */
  #write(
    input: Uint8Array,
    maxOutput: number,
    onData: (chunk: Uint8Array) => void,
  ): 'ok' | 'end' | 'too-big' | 'invalid' {
    const out = this.#out;
    const left = this.#z.run(input, maxOutput, out);
    if (left === TOO_BIG) return 'too-big';
    if (left === FAILED) return 'invalid';
    for (let k = 0; k < out.length; k++) onData(out[k]!);
    out.length = 0;
    // With output space left, zlib consumes all input unless the stream ended (a BFINAL block): unconsumed
    // input means the end, and the inflater must be reset before the next stream.
    return left > 0 ? 'end' : 'ok';
  }

  /** Starts a new stream with an empty window. */
  reset(): void {
    this.#z.reset();
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
  // One output buffer for all streams of this codec: every call is synchronous and copies out what it keeps.
  const scratch: Scratch = { bytes: null, size: chunkSize };
  return {
    createDeflater: (o) => new ZlibDeflater(o, scratch),
    createInflater: (o) => new ZlibInflater(o, scratch, portableBound),
  };
}

/** The default codec: 16 KiB output chunks, bounded inflation inside zlib where the runtime allows. */
export const zlibCodec: ZlibCodec = createZlibCodec();

export { clientCompression, serverCompression } from './shorthand.ts';
export type { ZlibClientCompression, ZlibServerCompression } from './shorthand.ts';
