/**
 * SHA-1 (FIPS 180-4 §6.1), synchronous and dependency-free.
 *
 * RFC 6455 §4.2.2 derives Sec-WebSocket-Accept from SHA-1 of the key and a fixed GUID. SHA-1's
 * weaknesses do not matter there: the value only proves that the server understood the handshake. It
 * is written here because the one portable alternative, `crypto.subtle.digest`, is asynchronous, and
 * the core is synchronous. Inputs are tens of bytes, so the code favours plainness over speed.
 */

/**
 * Computes the SHA-1 digest of `data`.
 *
 * @returns a new 20-byte array.
 */
export function sha1(data: Uint8Array): Uint8Array {
  // FIPS 180-4 §5.1.1: append 0x80, zeros up to 56 mod 64, then the bit length as 64-bit big-endian.
  const length = data.length;
  const padded = new Uint8Array((((length + 8) >>> 6) + 1) << 6);
  padded.set(data);
  padded[length] = 0x80;
  // Bit length split by hand: `length * 8` can exceed 2^32, where bitwise operators would wrap. The high word
  // is a fraction here: putUint32's byte stores and shifts truncate it, as Math.floor would.
  putUint32(padded, padded.length - 8, length / 0x20000000);
  putUint32(padded, padded.length - 4, length << 3);

  // FIPS 180-4 §5.3.1: the initial hash value H(0).
  const h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
  // The message schedule, one per module: sha1 runs to its end before anything else can use it. Words
  // are read by hand, big-endian: a DataView (or `.buffer`) would move these small arrays out of V8's
  // heap, an allocation of its own for each.
  const w = (schedule ??= new Int32Array(80));

  for (let offset = 0; offset < padded.length; offset += 64) {
    // §6.1.2 step 1: the message schedule.
    for (let t = 0; t < 80; t++) {
      const at = offset + t * 4;
      w[t] = t < 16
        ? (padded[at]! << 24) | (padded[at + 1]! << 16) | (padded[at + 2]! << 8) | padded[at + 3]!
        : rotl(w[t - 3]! ^ w[t - 8]! ^ w[t - 14]! ^ w[t - 16]!, 1);
    }
    let [a, b, c, d, e] = h as [number, number, number, number, number];
    for (let t = 0; t < 80; t++) {
      // §4.1.1: Ch for rounds 0–19, Maj for 40–59, Parity otherwise; §4.2.1: one constant per 20 rounds.
      const round = (t / 20) | 0;
      const f = round === 0 ? (b & c) | (~b & d) : round === 2 ? (b & c) | (b & d) | (c & d) : b ^ c ^ d;
      // `| 0` keeps the sum a 32-bit integer (mod 2^32) as the standard requires.
      const temp = (rotl(a, 5) + f + e + K[round]! + w[t]!) | 0;
      e = d;
      d = c;
      c = rotl(b, 30);
      b = a;
      a = temp;
    }
    // §6.1.2 step 4: the next intermediate hash value.
    const words = [a, b, c, d, e];
    for (let i = 0; i < 5; i++) h[i] = (h[i]! + words[i]!) | 0;
  }

  const digest = new Uint8Array(20);
  for (let i = 0; i < 5; i++) putUint32(digest, i * 4, h[i]!);
  return digest;
}

let schedule: Int32Array | undefined;

/** Writes `value` (its low 32 bits) at `at`, big-endian. */
function putUint32(bytes: Uint8Array, at: number, value: number): void {
  for (let i = 3; i >= 0; i--, value >>>= 8) bytes[at + i] = value;
}

/** FIPS 180-4 §4.2.1: the constants of rounds 0–19, 20–39, 40–59 and 60–79. */
const K = [0x5a827999, 0x6ed9eba1, 0x8f1bbcdc, 0xca62c1d6];

function rotl(x: number, n: number): number {
  return (x << n) | (x >>> (32 - n));
}
