/**
 * Memory for received messages that is used again once a message was decoded to a string: for transport
 * authors (the Bun adapter uses one).
 *
 * @module
 */

/**
 * An allocator for the engine's `allocate` option (the `allocate` of `UpgraderOptions` and `DialOptions`)
 * whose large buffers are used again: pass its `release` as `releaseMessage` beside it, and a `Conn`
 * hands back the buffer of every text message it decoded to a string (`readMessage`, `for await`), which
 * nothing else can reach once decoded (unless `releaseDecodedText` is false), and of every message the
 * application gives back with `Conn.release`. Other buffers handed to the application as bytes are the
 * application's, and the garbage collector frees them.
 *
 * Why. Where the allocator hands freed memory back to the system soon (Bun's mimalloc after 100 ms), every
 * fresh message buffer is faulted in again page by page: in Bun, echoing 1 MiB text messages to 100
 * connections cost about 650 page faults per echo, about 2.5 MiB of fresh memory (docs/performance-log.md,
 * round 12).
 *
 * How. Requests of `min` bytes or more get a view of a pooled `ArrayBuffer` whose size is the next power of
 * two (so a buffer serves every later message of up to twice its length), made by `fallback` when it answers
 * with a whole buffer of its own; smaller ones go to `fallback` as they are. With `round: false`, a new
 * buffer is made of the size asked for (no memory beyond it, where most buffers are never released: no
 * zero-filling of it, where the runtime zero-fills), and a request takes a kept buffer that holds it: the
 * last one kept of the request's power of two, if it is long enough, else one of the next power of two.
 * Released buffers are kept for later up to `maxFree` bytes in all (the memory the pool may hold while
 * nothing is received); beyond that they are left to the garbage collector. A buffer is released once:
 * the pool forgets it as it takes it back, so a second `release` of the same bytes is ignored, as are bytes
 * it did not hand out.
 *
 * ```ts
 * const messages = new BufferPool();
 * const upgrader = new Upgrader({ allocate: messages.allocate, releaseMessage: messages.release });
 * ```
 */
export class BufferPool {
  readonly #min: number;
  readonly #round: boolean;
  readonly #fallback: (byteLength: number) => Uint8Array;
  /** Released buffers by size (powers of two). */
  readonly #free: FreeLists<ArrayBuffer>;
  /** Buffers handed out and not yet released. */
  readonly #out = new WeakSet<ArrayBufferLike>();

  /**
   * @param options.min Requests smaller than this go to `fallback` (default 16 KiB).
   * @param options.maxFree Bytes of released buffers kept for later, in all (default 8 MiB); requests
   *   larger than this go to `fallback` too.
   * @param options.fallback Allocates what the pool does not (default `new Uint8Array`).
   * @param options.round New buffers are made of the next power of two (default `true`), else of the size
   *   asked for.
   */
  constructor(
    options: {
      readonly min?: number;
      readonly maxFree?: number;
      readonly fallback?: (byteLength: number) => Uint8Array;
      readonly round?: boolean;
    } = {},
  ) {
    this.#min = Math.max(1, options.min ?? 16 * 1024);
    this.#round = options.round !== false;
    this.#free = new FreeLists(options.maxFree ?? 8 * 1024 * 1024, byteLengthOf);
    this.#fallback = options.fallback ?? newBytes;
  }

  /** A buffer of exactly `byteLength` bytes (bound: pass it as `allocate` as it is). */
  readonly allocate = (byteLength: number): Uint8Array => {
    if (byteLength < this.#min) return this.#fallback(byteLength);
    const size = sizeClass(byteLength, 1);
    if (size > this.#free.maxBytes) return this.#fallback(byteLength);
    const buffer = this.#round
      ? this.#free.take(size) ?? this.#newBuffer(size)
      : this.#takeHolding(byteLength, size) ?? this.#newBuffer(byteLength);
    this.#out.add(buffer);
    return new Uint8Array(buffer, 0, byteLength);
  };

  /**
   * Without rounding: a kept buffer of at least `byteLength` bytes, kept by the power of two at or below its
   * size; `size` is the power of two at or above `byteLength`.
   */
  #takeHolding(byteLength: number, size: number): ArrayBuffer | undefined {
    const below = size === byteLength ? size : size / 2;
    return this.#free.take(below, (buffer) => buffer.byteLength >= byteLength) ?? this.#free.take(size);
  }

  /**
   * Takes back the buffer `bytes` lies in, if the pool handed it out and it was not released yet; nothing
   * may use `bytes` (or any view of its buffer) afterwards (bound: pass it as `releaseMessage` as it is).
   */
  readonly release = (bytes: Uint8Array): void => {
    if (bytes.length < this.#min) return;
    const buffer = bytes.buffer;
    if (!this.#out.delete(buffer)) return;
    const size = buffer.byteLength;
    this.#free.keep(this.#round ? size : floorPowerOfTwo(size), buffer as ArrayBuffer);
  };

  /**
   * A new buffer of `size` bytes: the fallback's, when it answers with a whole buffer of its own (an unzeroed
   * one, where the adapter has it: binary messages are never given back, so most of their buffers are new),
   * else a zeroed `ArrayBuffer`.
   */
  #newBuffer(size: number): ArrayBuffer {
    const bytes = this.#fallback(size);
    const buffer = bytes.buffer;
    return bytes.byteOffset === 0 && buffer.byteLength === size && buffer instanceof ArrayBuffer
      ? buffer
      : new ArrayBuffer(size);
  }

  /** Bytes of released buffers the pool keeps (for tests and diagnostics). */
  get freeBytes(): number {
    return this.#free.bytes;
  }
}

/** The largest power of two not above `n` (n ≥ 1). */
function floorPowerOfTwo(n: number): number {
  return 2 ** Math.floor(Math.log2(n));
}

/** `from` doubled until it is at least `n`: the size class of a request of `n` bytes. */
export function sizeClass(n: number, from: number): number {
  let size = from;
  while (size < n) size *= 2;
  return size;
}

/**
 * Package-internal: memory kept for later by size class, up to `maxBytes` in all (`BufferPool`'s released
 * buffers, `FrameRing`'s buffers of large frames).
 */
export class FreeLists<T> {
  readonly maxBytes: number;
  readonly #lists = new Map<number, T[]>();
  /** The bytes an item counts as; without it, its class's size. */
  readonly #bytesOf: ((item: T) => number) | undefined;
  #bytes = 0;

  constructor(maxBytes: number, bytesOf?: (item: T) => number) {
    this.maxBytes = maxBytes;
    this.#bytesOf = bytesOf;
  }

  /**
   * The last item kept in class `size`, which no longer counts as kept; undefined if there is none, or if
   * `fits` says no to it.
   */
  take(size: number, fits?: (item: T) => boolean): T | undefined {
    const list = this.#lists.get(size);
    if (list === undefined || list.length === 0) return undefined;
    const item = list[list.length - 1]!;
    if (fits !== undefined && !fits(item)) return undefined;
    list.pop();
    this.#bytes -= this.#bytesOf?.(item) ?? size;
    return item;
  }

  /** Keeps `item` in class `size` for later, unless that would make more than `maxBytes` in all. */
  keep(size: number, item: T): void {
    const bytes = this.#bytesOf?.(item) ?? size;
    if (this.#bytes + bytes > this.maxBytes) return;
    const list = this.#lists.get(size);
    if (list === undefined) this.#lists.set(size, [item]);
    else list.push(item);
    this.#bytes += bytes;
  }

  /** Bytes kept, in all. */
  get bytes(): number {
    return this.#bytes;
  }
}

function byteLengthOf(buffer: ArrayBuffer): number {
  return buffer.byteLength;
}

function newBytes(byteLength: number): Uint8Array {
  return new Uint8Array(byteLength);
}
