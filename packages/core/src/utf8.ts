/**
 * UTF-8 validation for WebSocket text messages and close reasons.
 *
 * RFC 6455 §8.1: an endpoint that receives text that is not valid UTF-8 (RFC 3629) MUST fail the
 * connection (close code 1007). Autobahn 6.x additionally checks that this happens *fast*: as soon as
 * a fragment contains the first byte that no continuation could make valid, not only when the message
 * ends. So validation is incremental and rejects at the earliest impossible byte.
 *
 * Theory of operation. Every byte is mapped to one of twelve classes, and a small DFA over those
 * classes tracks how many continuation bytes are still owed and, right after the four awkward lead
 * bytes (E0, ED, F0, F4), the narrowed range the next byte must fall in. That narrowing is what
 * rejects overlongs, surrogates and code points above U+10FFFF on their *second* byte rather than at
 * the end of the sequence. State numbers are pre-multiplied by the row width so that a transition is
 * a single `NEXT[state + CLASS[byte]]` load with no arithmetic.
 *
 * Most text is ASCII, so between code points the loop skips ASCII eight bytes at a time (one OR and
 * one test per eight bytes), and it checks the common 2- and 3-byte forms directly; only the rest goes
 * through the table. From WASM_UTF8_MIN bytes on, where the runtime can run it, the WebAssembly kernel
 * (kernels.ts) validates all but the last few bytes, 16 bytes per step (a SIMD table lookup); it gives
 * the same verdict, so the fail-fast semantics are unchanged.
 */

import { UsageError } from './errors.ts';
import { validateUtf8Wasm, WASM_UTF8_MIN, wasmKernels } from './kernels.ts';

// Byte classes. Continuations are split in three because E0, ED, F0 and F4 each accept only part of
// the 80..BF range as their next byte (RFC 3629 §4, the UTF8-3 and UTF8-4 productions).
const ASCII = 0; // 00..7F
const CONT_80_8F = 1;
const CONT_90_9F = 2;
const CONT_A0_BF = 3;
const INVALID = 4; // C0, C1 (overlong 2-byte leads) and F5..FF (beyond U+10FFFF or 5/6-byte forms)
const LEAD2 = 5; // C2..DF
const LEAD_E0 = 6;
const LEAD3 = 7; // E1..EC, EE..EF
const LEAD_ED = 8;
const LEAD_F0 = 9;
const LEAD4 = 10; // F1..F3
const LEAD_F4 = 11;

const ROW = 16;
// DFA states, pre-multiplied by ROW.
const ACCEPT = 0 * ROW; // between code points
const REJECT = 1 * ROW; // absorbing: nothing that follows can repair the stream
const NEED1 = 2 * ROW; // one continuation byte owed
const NEED2 = 3 * ROW;
const NEED3 = 4 * ROW;
const AFTER_E0 = 5 * ROW; // next must be A0..BF, else the 3-byte form is overlong
const AFTER_ED = 6 * ROW; // next must be 80..9F, else it encodes a surrogate U+D800..DFFF
const AFTER_F0 = 7 * ROW; // next must be 90..BF, else the 4-byte form is overlong
const AFTER_F4 = 8 * ROW; // next must be 80..8F, else the code point exceeds U+10FFFF

const CLASS: Uint8Array = new Uint8Array(256);
const NEXT: Uint8Array = new Uint8Array(9 * ROW).fill(REJECT);

function classify(from: number, to: number, byteClass: number): void {
  CLASS.fill(byteClass, from, to + 1);
}
classify(0x00, 0x7f, ASCII);
classify(0x80, 0x8f, CONT_80_8F);
classify(0x90, 0x9f, CONT_90_9F);
classify(0xa0, 0xbf, CONT_A0_BF);
classify(0xc0, 0xc1, INVALID);
classify(0xc2, 0xdf, LEAD2);
classify(0xe0, 0xe0, LEAD_E0);
classify(0xe1, 0xec, LEAD3);
classify(0xed, 0xed, LEAD_ED);
classify(0xee, 0xef, LEAD3);
classify(0xf0, 0xf0, LEAD_F0);
classify(0xf1, 0xf3, LEAD4);
classify(0xf4, 0xf4, LEAD_F4);
classify(0xf5, 0xff, INVALID);

function on(state: number, byteClasses: readonly number[], next: number): void {
  for (const byteClass of byteClasses) NEXT[state + byteClass] = next;
}
const ANY_CONT = [CONT_80_8F, CONT_90_9F, CONT_A0_BF];
on(ACCEPT, [ASCII], ACCEPT);
on(ACCEPT, [LEAD2], NEED1);
on(ACCEPT, [LEAD_E0], AFTER_E0);
on(ACCEPT, [LEAD3], NEED2);
on(ACCEPT, [LEAD_ED], AFTER_ED);
on(ACCEPT, [LEAD_F0], AFTER_F0);
on(ACCEPT, [LEAD4], NEED3);
on(ACCEPT, [LEAD_F4], AFTER_F4);
on(NEED1, ANY_CONT, ACCEPT);
on(NEED2, ANY_CONT, NEED1);
on(NEED3, ANY_CONT, NEED2);
on(AFTER_E0, [CONT_A0_BF], NEED1);
on(AFTER_ED, [CONT_80_8F, CONT_90_9F], NEED1);
on(AFTER_F0, [CONT_90_9F, CONT_A0_BF], NEED2);
on(AFTER_F4, [CONT_80_8F], NEED2);

/** Runs the DFA over `bytes[i..end)` from `state`; returns the final state, stopping early on REJECT. */
function advance(state: number, bytes: Uint8Array, i: number, end: number): number {
  if (end - i >= WASM_UTF8_MIN) {
    const kernels = wasmKernels();
    if (kernels !== null) {
      // The kernel starts between code points: finish here a sequence left open by the previous piece.
      while (state !== ACCEPT && i < end) {
        state = NEXT[state + CLASS[bytes[i++]!]!]!;
        if (state === REJECT) return REJECT;
      }
      // Then it takes all but a short tail, which the loop below finishes.
      i = validateUtf8Wasm(kernels, bytes, i, end);
      if (i < 0) return REJECT;
    }
  }
  const last8 = end - 8;
  while (i < end) {
    const b = bytes[i]!;
    if (state === ACCEPT) {
      if (b < 0x80) {
        while (
          i <= last8 &&
          ((bytes[i]! | bytes[i + 1]! | bytes[i + 2]! | bytes[i + 3]! | bytes[i + 4]! | bytes[i + 5]! |
              bytes[i + 6]! | bytes[i + 7]!) & 0x80) === 0
        ) i += 8;
        while (i < end && bytes[i]! < 0x80) i++;
        continue;
      }
      // Shortcuts for the lead bytes that put no extra limit on their continuation bytes: C2..DF
      // (2 bytes) and E1..EC, EE..EF (3 bytes) are valid with any 80..BF after them. These cover
      // Latin, Greek, Cyrillic, Hebrew, Arabic and CJK, and roughly double their speed. Anything else,
      // including a sequence cut by the end of the piece, takes the table.
      if (b >= 0xc2 && b <= 0xdf) {
        if (i + 1 < end && (bytes[i + 1]! & 0xc0) === 0x80) {
          i += 2;
          continue;
        }
      } else if (b >= 0xe1 && b <= 0xef && b !== 0xed && i + 2 < end) {
        const c1 = bytes[i + 1]!;
        const c2 = bytes[i + 2]!;
        // Both 10xxxxxx: bit 7 set in both, bit 6 clear in both.
        if ((c1 & c2 & 0x80) !== 0 && ((c1 | c2) & 0x40) === 0) {
          i += 3;
          continue;
        }
      }
    }
    state = NEXT[state + CLASS[b]!]!;
    i++;
    if (state === REJECT) return REJECT;
  }
  return state;
}

function checkRange(bytes: Uint8Array, start: number, end: number): void {
  // Out-of-range indices would read `undefined` and silently poison the DFA state.
  if (
    !(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= bytes.length)
  ) {
    throw new UsageError(
      'INVALID_ARGUMENT',
      `invalid byte range [${start}, ${end}) for a buffer of ${bytes.length} bytes`,
    );
  }
}

/**
 * Incremental UTF-8 (RFC 3629) validator for text that arrives in pieces, such as the fragments of a
 * WebSocket text message (RFC 6455 §5.6, §8.1). Code points may be split across pieces anywhere.
 *
 * Call {@link Utf8Validator.update | update} with each piece, then {@link Utf8Validator.finish | finish}
 * when the message is complete, then {@link Utf8Validator.reset | reset} before the next message.
 * `update` fails fast: it returns false on the first byte after which the bytes seen so far cannot be
 * the beginning of valid UTF-8, so the connection can be failed before the rest of the message arrives.
 * Once it has returned false it keeps returning false until `reset`.
 *
 * Allocates nothing per call, except one short-lived view per 64 KiB for the WebAssembly kernel.
 */
export class Utf8Validator {
  #state: number = ACCEPT;

  /**
   * Feeds `bytes[start..end)` (the whole array by default).
   *
   * @returns false if the bytes seen since the last reset can no longer be a prefix of valid UTF-8.
   * @throws {UsageError} `INVALID_ARGUMENT` if the range is not within `bytes`.
   */
  update(bytes: Uint8Array, start = 0, end: number = bytes.length): boolean {
    checkRange(bytes, start, end);
    if (this.#state === REJECT) return false;
    this.#state = advance(this.#state, bytes, start, end);
    return this.#state !== REJECT;
  }

  /**
   * Ends the stream. Does not reset the validator, so it may be called more than once.
   *
   * @returns true if everything fed since the last reset is valid UTF-8: no invalid byte was seen and
   * the last code point is complete (a truncated sequence at the end of a message is invalid).
   */
  finish(): boolean {
    return this.#state === ACCEPT;
  }

  /** Forgets everything fed so far, ready for a new stream. */
  reset(): void {
    this.#state = ACCEPT;
  }
}

/**
 * Checks that `bytes[start..end)` (the whole array by default) is complete, valid UTF-8 (RFC 3629):
 * no overlong forms, no surrogates, nothing above U+10FFFF, no stray or missing continuation bytes.
 * A byte-order mark is an ordinary, valid code point here.
 *
 * @throws {UsageError} `INVALID_ARGUMENT` if the range is not within `bytes`.
 */
export function isValidUtf8(bytes: Uint8Array, start = 0, end: number = bytes.length): boolean {
  checkRange(bytes, start, end);
  return advance(ACCEPT, bytes, start, end) === ACCEPT;
}
