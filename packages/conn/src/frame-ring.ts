/**
 * Memory for outgoing frames that is used again once the transport has consumed them: for transport authors
 * (the Bun and Deno adapters use one each).
 *
 * @module
 */

/**
 * Where frames start in a ring: never at offset 0, so that a chunk at offset 0 of its buffer is known not to
 * be a ring's without reading its `buffer` (8, to keep frames 8-byte aligned).
 */
const RING_START = 8;

/** One ring of a {@link FrameRing}. */
interface Ring {
  readonly buffer: ArrayBuffer;
  /** Bytes cut from the start so far. */
  used: number;
  /** Bytes cut and not yet released. */
  live: number;
}

/**
 * An allocator for the core's `allocateFrame` option (the `allocateFrame` of `UpgraderOptions` and
 * `DialOptions`) whose memory is used again, for a transport that tells it when it consumed each chunk.
 *
 * Why. By default the engine cuts small frames from fresh 64 KiB slabs that the garbage collector frees
 * later. Where the allocator hands freed memory back to the system soon (Bun's mimalloc after 100 ms), every
 * new slab is faulted in again page by page: in Bun, binary 1 KiB echoes, 64 in flight, took 0.72–0.80× the
 * CPU per echo once their frames came from a ring (docs/performance.md, round 10).
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
  #live = 0;

  /**
   * @param options.size Bytes per ring (default 256 KiB): frames larger than that get buffers of their own.
   * @param options.min Frames smaller than this get arrays of their own (default 65: V8 and JavaScriptCore
   *   make such small arrays faster than a view of a larger buffer, and reading `.buffer` of one copies it).
   * @param options.spares Rings with nothing live kept for later besides the current one (default 4).
   */
  constructor(options: { readonly size?: number; readonly min?: number; readonly spares?: number } = {}) {
    this.#size = options.size ?? 256 * 1024;
    this.#min = options.min ?? 65;
    this.#spares = options.spares ?? 4;
  }

  /**
   * A buffer of exactly `byteLength` bytes for one outgoing frame, cut from the current ring right after the
   * previous one (bound: pass it as `allocateFrame` as it is).
   */
  readonly allocate = (byteLength: number): Uint8Array => {
    if (byteLength < this.#min || byteLength > this.#size) return new Uint8Array(byteLength);
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
   * Release each byte once.
   */
  release(chunk: Uint8Array): void {
    // Reading `.buffer` of a small array of its own makes JavaScriptCore copy it out of its heap: offset 0
    // is never a ring's (see RING_START), so such arrays are turned away before that.
    if (chunk.byteOffset === 0 || chunk.length === 0 || chunk.length > this.#size) return;
    const ring = this.#ringOf(chunk);
    if (ring === null) return;
    ring.live -= chunk.length;
    this.#live -= chunk.length;
    if (ring.live === 0 && ring !== this.#current && this.#spare.length < this.#spares) {
      if (!this.#spare.includes(ring)) this.#spare.push(ring);
    }
  }

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
    const ring: Ring = { buffer: new ArrayBuffer(this.#size + RING_START), used: RING_START, live: 0 };
    this.#rings.set(ring.buffer, ring);
    return ring;
  }
}
