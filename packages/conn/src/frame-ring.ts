/**
 * Memory for outgoing frames that is used again once the transport has consumed them: for transport authors
 * (the Bun and Deno adapters use one each).
 *
 * @module
 */

import { FreeLists, sizeClass } from './buffer-pool.ts';

/**
 * Where frames start in a ring: never at offset 0, so that a chunk at offset 0 of its buffer is known not to
 * be a ring's without reading its `buffer` (8, to keep frames 8-byte aligned).
 */
const RING_START = 8;

/** One ring of a {@link FrameRing}, or the buffer of one frame larger than a ring (`large`). */
interface Ring {
  readonly buffer: ArrayBuffer;
  /** Bytes cut from the start so far. */
  used: number;
  /** Bytes cut and not yet released. */
  live: number;
  /** The buffer of one large frame: free again (kept for a later one) once its bytes were all released. */
  readonly large: boolean;
}

/**
 * An allocator for the core's `allocateFrame` option (the `allocateFrame` of `UpgraderOptions` and
 * `DialOptions`) whose memory is used again, for a transport that tells it when it consumed each chunk.
 *
 * Why. By default the engine cuts small frames from fresh 64 KiB slabs that the garbage collector frees
 * later. Where the allocator hands freed memory back to the system soon (Bun's mimalloc after 100 ms), every
 * new slab is faulted in again page by page: in Bun, binary 1 KiB echoes, 64 in flight, took 0.72–0.80× the
 * CPU per echo once their frames came from a ring (docs/performance-log.md, round 10).
 *
 * How. Frames of {@link FrameRing.allocate} are cut one after another from a ring (256 KiB by default), so
 * frames made one after another lie next to each other and a transport can write a run of them as one view.
 * Each frame is *live* until {@link FrameRing.release} has been given all of its bytes: the frame, a run of
 * adjacent frames holding it, or pieces of it (the part of a chunk a socket took, then the rest once
 * written), each byte once. Call it when the transport no longer needs the bytes — handed to a socket that
 * copied them, written, or copied elsewhere. A ring is cut from its start again only when nothing in it is
 * live; a full ring with live bytes is left to them (a spare ring, or a new one, takes over) and becomes a
 * spare once they are released. A frame that is never released keeps its ring from being used again, never
 * from being collected (rings are found from their frames through a `WeakMap`), so the worst a lost release
 * costs is what the default slabs cost. Whatever a transport keeps after `release` must be a copy
 * ({@link FrameRing.owns} tells which chunks need one). Frames are never cut at the very start of a ring, so
 * a chunk that starts at offset 0 of its buffer (an array of its own, as frames below `min` are) is not
 * one, which `release` and `owns` tell without reading its `buffer`.
 *
 * A frame larger than a ring gets a buffer of its own, of the ring's size doubled until the frame fits (plus
 * the offset), which is kept, once all its bytes were released, for a later large frame of that size class:
 * up to `maxFree` bytes of such buffers in all. A `Conn` encodes a long string straight into one (with
 * `releaseFrame`), so echoing 1 MiB text messages reuses the same memory rather than fresh pages each time.
 *
 * ```ts
 * const frames = new FrameRing();
 * const upgrader = new Upgrader({ allocateFrame: frames.allocate });
 * // in the transport, once a chunk's bytes were handed on:
 * frames.release(chunk);
 * ```
 */
export class FrameRing {
  readonly #size: number;
  readonly #min: number;
  readonly #spares: number;
  readonly #rings = new WeakMap<ArrayBufferLike, Ring>();
  #current: Ring | null = null;
  #spare: Ring[] = [];
  /** Buffers of large frames with nothing live, by size class (their size less the offset). */
  readonly #free: FreeLists<Ring>;
  #live = 0;

  /**
   * @param options.size Bytes per ring (default 256 KiB): larger frames get buffers of their own (see above).
   * @param options.min Frames smaller than this get arrays of their own (default 65: V8 and JavaScriptCore
   *   make such small arrays faster than a view of a larger buffer, and reading `.buffer` of one copies it).
   * @param options.spares Rings with nothing live kept for later besides the current one (default 4).
   * @param options.maxFree Bytes of large frames' buffers kept for later, in all (default 8 MiB); larger
   *   frames get arrays of their own.
   */
  constructor(
    options: {
      readonly size?: number;
      readonly min?: number;
      readonly spares?: number;
      readonly maxFree?: number;
    } = {},
  ) {
    this.#size = options.size ?? 256 * 1024;
    this.#min = options.min ?? 65;
    this.#spares = options.spares ?? 4;
    this.#free = new FreeLists(options.maxFree ?? 8 * 1024 * 1024);
  }

  /**
   * A buffer of exactly `byteLength` bytes for one outgoing frame, cut from the current ring right after the
   * previous one (bound: pass it as `allocateFrame` as it is).
   */
  readonly allocate = (byteLength: number): Uint8Array => {
    if (byteLength < this.#min) return new Uint8Array(byteLength);
    if (byteLength > this.#size) return this.#allocateLarge(byteLength);
    let ring = this.#current;
    if (ring === null || ring.used + byteLength > RING_START + this.#size) {
      if (ring === null || ring.live !== 0) ring = this.#current = this.#spare.pop() ?? this.#newRing();
      ring.used = RING_START;
    }
    const out = new Uint8Array(ring.buffer, ring.used, byteLength);
    ring.used += byteLength;
    ring.live += byteLength;
    this.#live += byteLength;
    return out;
  };

  /**
   * Whether `chunk` lies in one of this allocator's rings (its memory will be used again: keep a copy, not
   * the chunk, after releasing it).
   */
  owns(chunk: Uint8Array): boolean {
    return chunk.byteOffset !== 0 && this.#ringOf(chunk) !== null;
  }

  /**
   * Marks `chunk`'s bytes as consumed. `chunk` is a frame {@link FrameRing.allocate} gave, a run of such
   * frames that lie next to each other, or a piece of one or of such a run; other chunks are ignored.
   * Release each byte once (bound: pass it as `releaseFrame` as it is).
   */
  readonly release = (chunk: Uint8Array): void => {
    // Reading `.buffer` of a small array of its own makes JavaScriptCore copy it out of its heap: offset 0
    // is never a ring's (see RING_START), so such arrays are turned away before that.
    if (chunk.byteOffset === 0 || chunk.length === 0) return;
    const ring = this.#ringOf(chunk);
    if (ring === null || ring.live === 0) return;
    ring.live -= chunk.length;
    this.#live -= chunk.length;
    if (ring.live !== 0) return;
    if (ring.large) this.#free.keep(ring.buffer.byteLength - RING_START, ring);
    else if (ring !== this.#current && this.#spare.length < this.#spares && !this.#spare.includes(ring)) {
      this.#spare.push(ring);
    }
  };

  /** Bytes allocated from the rings and not yet released, in all (for tests and diagnostics). */
  get live(): number {
    return this.#live;
  }

  #ringOf(chunk: Uint8Array): Ring | null {
    const ring = this.#current;
    const buffer = chunk.buffer;
    if (ring !== null && buffer === ring.buffer) return ring;
    return this.#rings.get(buffer) ?? null;
  }

  #newRing(): Ring {
    const ring: Ring = {
      buffer: new ArrayBuffer(this.#size + RING_START),
      used: RING_START,
      live: 0,
      large: false,
    };
    this.#rings.set(ring.buffer, ring);
    return ring;
  }

  /** A frame larger than a ring: a kept buffer of its size class, or a new one (see the class's notes). */
  #allocateLarge(byteLength: number): Uint8Array {
    const size = sizeClass(byteLength, this.#size);
    if (size > this.#free.maxBytes) return new Uint8Array(byteLength);
    let ring = this.#free.take(size);
    if (ring === undefined) {
      ring = { buffer: new ArrayBuffer(size + RING_START), used: RING_START, live: 0, large: true };
      this.#rings.set(ring.buffer, ring);
    }
    ring.live = byteLength;
    this.#live += byteLength;
    return new Uint8Array(ring.buffer, RING_START, byteLength);
  }
}
