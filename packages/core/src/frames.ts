/**
 * Frame constants and the frame header writer (RFC 6455 §5.2).
 */

/** Frame opcodes (RFC 6455 §5.2, §11.8); plain constants, which bundlers inline. */
export const OP_CONTINUATION = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

/** A zero-length buffer shared inside the engine (never given to the application as its own). */
export const EMPTY = new Uint8Array(0);

/**
 * The list of every receiver chunk list, engine event list and engine output list that is empty: frozen,
 * never pushed to (the first item makes a list of the owner's own), so an idle engine holds no array.
 */
export const NONE = Object.freeze([]) as unknown as never[];

/**
 * Outgoing payloads up to this size are copied after their header (one chunk); larger ones are referenced
 * and written as a chunk of their own after a separate header.
 */
export const COPY_THRESHOLD = 16 * 1024;

/**
 * Outgoing frames of SLAB_MIN to SLAB_MAX bytes are cut from a shared slab of SLAB_SIZE bytes. Smaller ones
 * are cheaper on their own: V8 keeps typed arrays of up to 64 bytes in its heap, and JavaScriptCore makes
 * one faster than it cuts a piece of another.
 */
const SLAB_MIN = 65;
/**
 * Payloads of up to COPY_THRESHOLD bytes, with the longest header they can have (a client's, 8 bytes): every
 * frame the engine copies its payload into.
 */
const SLAB_MAX = COPY_THRESHOLD + 8;
/**
 * 64 KiB: in Node an `ArrayBuffer` costs about the same up to that size (3.5–4 µs with its share of the
 * collections, where building a 1 KiB frame costs less than 1 µs), so a larger slab is cheaper per frame;
 * on Bun and Deno the cost grows with the size, so there the slab's size makes little difference.
 */
const SLAB_SIZE = 64 * 1024;
let slab = new ArrayBuffer(0);
let slabUsed = SLAB_SIZE;

/**
 * `allocate(n)` if it answers with a `Uint8Array` of exactly `n` bytes, else (another answer, a throw) a new
 * one: an injected allocator's wrong answers cost speed, never a wrong length.
 */
export function allocateWith(
  allocate: ((byteLength: number) => Uint8Array) | undefined,
  n: number,
): Uint8Array {
  if (allocate !== undefined) {
    try {
      const out = allocate(n);
      if (out instanceof Uint8Array && out.length === n) return out;
    } catch {
      // fall through
    }
  }
  return new Uint8Array(n);
}

/**
 * A buffer for an outgoing frame of `n` bytes. Small frames are consecutive pieces of one shared slab, as
 * node's `Buffer.allocUnsafe` pool does: one allocation for many frames (a separate `ArrayBuffer` costs more
 * than building a 1 KiB frame on V8), and frames made one after another lie next to each other, so a
 * transport can write a run of them as one view instead of copying them together. A piece is never handed
 * out twice; a full slab is left to the frames cut from it, and lives as long as one of them. With
 * `allocate` (`ConnectionOptions.allocateFrame`) the buffer is its answer instead.
 */
export function frameBuffer(n: number, allocate?: (byteLength: number) => Uint8Array): Uint8Array {
  if (allocate !== undefined) return allocateWith(allocate, n);
  if (n < SLAB_MIN || n > SLAB_MAX) return new Uint8Array(n);
  if (slabUsed + n > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE);
    slabUsed = 0;
  }
  const out = new Uint8Array(slab, slabUsed, n);
  slabUsed += n;
  return out;
}

/** Largest payload of a control frame (RFC 6455 §5.5). */
export const MAX_CONTROL_PAYLOAD = 125;

/** Size of a frame header for a payload of `length` bytes. */
export function headerSize(length: number, masked: boolean): number {
  return (length < 126 ? 2 : length < 0x10000 ? 4 : 10) + (masked ? 4 : 0);
}

/**
 * Writes a frame header into `out` at `offset` and returns the offset after it. When `key` is given the
 * MASK bit is set and the key written after the length (RFC 6455 §5.2).
 */
export function writeHeader(
  out: Uint8Array,
  offset: number,
  fin: boolean,
  rsv1: boolean,
  opcode: number,
  length: number,
  key: Uint8Array | null,
): number {
  out[offset++] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  const maskBit = key === null ? 0 : 0x80;
  // RFC 6455 §5.2: the minimal number of bytes MUST be used to encode the length.
  if (length < 126) {
    out[offset++] = maskBit | length;
  } else if (length < 0x10000) {
    out[offset++] = maskBit | 126;
    out[offset++] = length >>> 8;
    out[offset++] = length & 0xff;
  } else {
    out[offset++] = maskBit | 127;
    // Lengths above 2^53 cannot exist in JavaScript; the high word comes from a float division.
    const high = Math.floor(length / 0x100000000);
    out[offset++] = high >>> 24;
    out[offset++] = (high >>> 16) & 0xff;
    out[offset++] = (high >>> 8) & 0xff;
    out[offset++] = high & 0xff;
    out[offset++] = length >>> 24;
    out[offset++] = (length >>> 16) & 0xff;
    out[offset++] = (length >>> 8) & 0xff;
    out[offset++] = length & 0xff;
  }
  if (key !== null) {
    out[offset++] = key[0]!;
    out[offset++] = key[1]!;
    out[offset++] = key[2]!;
    out[offset++] = key[3]!;
  }
  return offset;
}

/** True for close codes an endpoint may receive in a close frame (RFC 6455 §7.4.1, §7.4.2, IANA registry). */
export function isValidReceivedCloseCode(code: number): boolean {
  if (code >= 3000 && code <= 4999) return true;
  // 1004 is reserved, 1005, 1006 and 1015 MUST NOT be sent in a close frame (§7.4.1); 1016–2999 are
  // reserved for future protocol revisions; 1012–1014 were registered with IANA after the RFC.
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}
