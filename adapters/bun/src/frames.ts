/**
 * The engine's `allocateFrame` on Bun: outgoing frames cut from rings of memory that are used again once
 * every frame cut from them was handed to a socket, instead of from fresh slabs.
 *
 * Why. Bun's allocator (its fork of mimalloc) gives memory that stayed free for 100 ms back to the system,
 * and the next allocation there faults it in again, page by page. A fresh 64 KiB slab every 63 echoed 1 KiB
 * frames (the core's default) kept that happening: 0.03 page faults per echo in binary 1 KiB ×64, and 2.6
 * µs of CPU per echo where reusing the frames' memory gave 1.9 (docs/performance.md, round 10).
 *
 * How it stays safe. A frame cut from a ring is *live* until {@link releaseFrames} is told that its bytes
 * were consumed: handed to `socket.write` (Bun copies what it takes into the kernel before returning) or
 * copied elsewhere. {@link BunTransport} does that for every chunk it is given, and copies whatever it has
 * to keep (the rest of a partial write) out of a ring first. A ring is filled from its start again only when
 * none of its bytes are live; a full ring with live bytes is left to them (a spare ring, or a new one, takes
 * over) and is used again once they are released. A frame that is never released (output an engine dropped,
 * a transport of another kind) keeps its ring from being reused, never from being collected: rings are found
 * from their frames through a `WeakMap`.
 *
 * @module
 */

/** Bytes per ring: a turn's frames for many connections fit in one, so it wraps rather than changes. */
const RING_SIZE = 256 * 1024;
/**
 * Smaller frames are made on their own: JavaScriptCore keeps such an array in its heap and makes one faster
 * than a view of a ring, and joining a batch of them copies little.
 */
const RING_MIN = 65;
/** Rings with nothing live kept for later, beyond the current one. */
const SPARE_MAX = 4;

interface Ring {
  readonly buffer: ArrayBuffer;
  /** Bytes cut from the start so far. */
  used: number;
  /** Bytes cut and not yet released. */
  live: number;
}

const rings = new WeakMap<ArrayBufferLike, Ring>();
let current: Ring | null = null;
const spare: Ring[] = [];

function newRing(): Ring {
  const ring: Ring = { buffer: new ArrayBuffer(RING_SIZE), used: 0, live: 0 };
  rings.set(ring.buffer, ring);
  return ring;
}

/**
 * A buffer of `n` bytes for one outgoing frame (the engine asks for frames of at most 16 KiB + 8), cut from
 * the current ring after the previous frame, so that frames made one after another lie next to each other.
 */
export function allocateFrame(n: number): Uint8Array {
  if (n < RING_MIN || n > RING_SIZE) return new Uint8Array(n);
  let ring = current;
  if (ring === null || ring.used + n > RING_SIZE) {
    if (ring !== null && ring.live === 0) {
      ring.used = 0;
    } else {
      ring = current = spare.pop() ?? newRing();
      ring.used = 0;
    }
  }
  const out = new Uint8Array(ring.buffer, ring.used, n);
  ring.used += n;
  ring.live += n;
  return out;
}

/** The ring `chunk` was cut from (or a run of adjacent frames lies in), or null. */
export function ringOf(chunk: Uint8Array): Ring | null {
  const ring = current;
  const buffer = chunk.buffer;
  if (ring !== null && buffer === ring.buffer) return ring;
  return rings.get(buffer) ?? null;
}

/**
 * Marks the bytes of `chunk` (a frame the engine gave, a run of adjacent ones, or a piece of one) as
 * consumed: handed to the socket or copied. If they lie in a ring, they no longer keep it from being used
 * again. Call it once for every byte the engine gave.
 */
export function releaseFrame(chunk: Uint8Array): void {
  // Reading `.buffer` of a small array that JavaScriptCore keeps in its heap would copy it out.
  if (chunk.length < RING_MIN || chunk.length > RING_SIZE) return;
  const ring = ringOf(chunk);
  if (ring === null) return;
  ring.live -= chunk.length;
  if (ring.live === 0 && ring !== current && spare.length < SPARE_MAX && !spare.includes(ring)) {
    spare.push(ring);
  }
}

/** Test hook: the live bytes of the ring a frame was cut from. */
export function liveBytesOf(chunk: Uint8Array): number {
  return ringOf(chunk)?.live ?? 0;
}

/** Test hook: frames from here on come from a ring of their own (rings in use are left to their frames). */
export function resetFrames(): void {
  current = null;
  spare.length = 0;
}
