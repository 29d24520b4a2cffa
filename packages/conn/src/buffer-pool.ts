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
 * nothing else can reach once decoded. Buffers handed to the application as bytes (binary messages,
 * `readMessageBytes`) are never released: they are the application's, and the garbage collector frees them.
 *
 * Why. Where the allocator hands freed memory back to the system soon (Bun's mimalloc after 100 ms), every
 * fresh message buffer is faulted in again page by page: in Bun, echoing 1 MiB text messages to 100
 * connections cost about 650 page faults per echo, about 2.5 MiB of fresh memory (docs/performance-log.md,
 * round 12).
 *
 * How. Requests of `min` bytes or more get a view of a pooled `ArrayBuffer` whose size is the next power of
 * two (so a buffer serves every later message of up to twice its length), made by `fallback` when it answers
 * with a whole buffer of its own; smaller ones go to `fallback` as they are.
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
   */
  constructor(
    options: {
      readonly min?: number;
      readonly maxFree?: number;
      readonly fallback?: (byteLength: number) => Uint8Array;
    } = {},
  ) {
    this.#min = Math.max(1, options.min ?? 16 * 1024);
    this.#free = new FreeLists(options.maxFree ?? 8 * 1024 * 1024);
    this.#fallback = options.fallback ?? newBytes;
  }

  /** A buffer of exactly `byteLength` bytes (bound: pass it as `allocate` as it is). */
  readonly allocate = (byteLength: number): Uint8Array => {
    if (byteLength < this.#min) return this.#fallback(byteLength);
    const size = sizeClass(byteLength, 1);
    if (size > this.#free.maxBytes) return this.#fallback(byteLength);
    const buffer = this.#free.take(size) ?? this.#newBuffer(size);
    this.#out.add(buffer);
    return new Uint8Array(buffer, 0, byteLength);
  };

  /**
   * Takes back the buffer `bytes` lies in, if the pool handed it out and it was not released yet; nothing
   * may use `bytes` (or any view of its buffer) afterwards (bound: pass it as `releaseMessage` as it is).
   */
  readonly release = (bytes: Uint8Array): void => {
    if (bytes.length < this.#min) return;
    const buffer = bytes.buffer;
    if (!this.#out.delete(buffer)) return;
    this.#free.keep(buffer.byteLength, buffer as ArrayBuffer);
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
  #bytes = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** A kept item of `size` bytes, which no longer counts as kept; undefined if there is none. */
  take(size: number): T | undefined {
    const item = this.#lists.get(size)?.pop();
    if (item !== undefined) this.#bytes -= size;
    return item;
  }

  /** Keeps `item` of `size` bytes for later, unless that would make more than `maxBytes` in all. */
  keep(size: number, item: T): void {
    if (this.#bytes + size > this.maxBytes) return;
    const list = this.#lists.get(size);
    if (list === undefined) this.#lists.set(size, [item]);
    else list.push(item);
    this.#bytes += size;
  }

  /** Bytes kept, in all. */
  get bytes(): number {
    return this.#bytes;
  }
}

function newBytes(byteLength: number): Uint8Array {
  return new Uint8Array(byteLength);
}
