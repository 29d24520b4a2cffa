// @ts-check
/**
 * What a text echo costs besides WebSocket: the runtime's own UTF-8 codec. The Bun and Deno echo servers
 * (like the built-in WebSockets they are compared with) hand text to the application as a string and encode
 * the string again to send it; this times those two steps, and the core's UTF-8 validation of the same bytes,
 * on the harness's text payload (`bench/clients/common.mjs`), in whichever runtime runs it:
 *
 *   node bench/text-codec.mjs · bun bench/text-codec.mjs · deno run --allow-read bench/text-codec.mjs
 *
 * (after `tsc -b`: the core is imported from `packages/core/dist`). Prints µs per call, the median of 7
 * rounds of at least 100 ms each, for `TextEncoder#encode`, `TextEncoder#encodeInto` (into a buffer allocated
 * once), `TextDecoder#decode` and the core's `isValidUtf8`.
 *
 * @module
 */

import { isValidUtf8 } from '../packages/core/dist/mod.js';
import { payloadFor } from './clients/common.mjs';

const ROUNDS = 7;
const ROUND_MS = 100;
const SIZES = [1024, 64 * 1024, 1024 * 1024];

/** @param {() => unknown} f @returns {number} µs per call, median over rounds */
function time(f) {
  const perCall = [];
  for (let round = 0; round < ROUNDS; round++) {
    let calls = 0;
    const start = performance.now();
    let now = start;
    while (now - start < ROUND_MS) {
      for (let i = 0; i < 16; i++) f();
      calls += 16;
      now = performance.now();
    }
    perCall.push(((now - start) * 1000) / calls);
  }
  perCall.sort((a, b) => a - b);
  return perCall[Math.floor(ROUNDS / 2)] ?? 0;
}

const runtime = 'Deno' in globalThis
  ? `Deno ${/** @type {any} */ (globalThis).Deno.version.deno}`
  : 'Bun' in globalThis
  ? `Bun ${/** @type {any} */ (globalThis).Bun.version}`
  : `Node ${process.version}`;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
console.log(`${runtime}: µs per call, median of ${ROUNDS} rounds of ${ROUND_MS} ms`);
console.log('| size | encode | encodeInto | decode | core isValidUtf8 |');
console.log('| ---: | ---: | ---: | ---: | ---: |');
for (const size of SIZES) {
  const text = /** @type {string} */ (payloadFor(size, 'text'));
  const bytes = encoder.encode(text);
  const flat = decoder.decode(bytes); // as a receiver's string is: flat, made by a decoder
  const target = new Uint8Array(bytes.length);
  const row = [
    time(() => encoder.encode(flat)),
    time(() => encoder.encodeInto(flat, target)),
    time(() => decoder.decode(bytes)),
    time(() => isValidUtf8(bytes)),
  ];
  console.log(`| ${size} | ${row.map((v) => v.toFixed(1)).join(' | ')} |`);
}
