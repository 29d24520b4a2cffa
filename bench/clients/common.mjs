// @ts-check
/**
 * The client-side benchmark, shared by every client under test (our `dial` on Node, Bun and Deno, `ws`, and
 * the runtimes' built-in `WebSocket`): each entry file only opens a connection in its own API and wraps it
 * as a {@link Client}. Each cell keeps `inflight` messages in flight on one connection against a fixed echo
 * server, checks every echo, and measures a window: echoes per second, round trips (one in flight), and
 * this process's CPU time per message (getrusage through `node:process`). All cells run once, unmeasured,
 * before the measured pass, so that no cell measures the JIT's first compilation of the client's code.
 *
 * Prints one JSON line: `{ "results": [...] }`.
 *
 * @module
 */

import { Buffer } from 'node:buffer';
import process from 'node:process';

/**
 * @typedef {object} Client
 * @property {(data: string | Uint8Array) => void} send
 * @property {(listener: (data: string | Uint8Array) => void) => void} onMessage
 * @property {() => Promise<void>} close
 */

/**
 * @typedef {object} ClientCell
 * @property {number} size
 * @property {'text' | 'binary'} type
 * @property {number} inflight
 * @property {number} warmupMs
 * @property {number} windowMs
 */

/**
 * The same payload bytes as the load generator's (wire.mjs makePayload), without node:buffer.
 * @param {number} size
 * @param {'text' | 'binary'} type
 * @returns {string | Uint8Array}
 */
export function payloadFor(size, type) {
  if (type === 'binary') {
    const out = new Uint8Array(size);
    let x = 0x9e3779b9 ^ size;
    for (let i = 0; i < size; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  }
  const encoder = new TextEncoder();
  let text = '';
  for (let i = 0; encoder.encode(text).length < size; i++) {
    text += `{"id":${i},"user":"zoë-${i % 97}","ok":${i % 3 === 0},"score":${(i * 0.37) % 1},` +
      `"tags":["alpha","βeta","✓"]},`;
  }
  while (encoder.encode(text).length > size) text = text.slice(0, -1);
  return text + ' '.repeat(size - encoder.encode(text).length);
}

/**
 * Whether an echo is what was sent. Bytes are compared by `node:buffer`'s native `Buffer.compare` (on Node,
 * Bun and Deno alike): a JavaScript loop over a 64 KiB echo took about half of a client's CPU time per
 * message, which hid the differences between the clients under test.
 *
 * @param {string | Uint8Array} a
 * @param {string | Uint8Array} b
 */
function same(a, b) {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * @param {(size: number, type: 'text' | 'binary') => Promise<Client>} open
 * @param {ClientCell[]} cells
 */
export async function runClientCells(open, cells) {
  // Every cell once, unmeasured, first: else the first cell measured the JIT compiling the client's whole
  // stack (a larger one for our dial than for ws), in windows of a few hundred milliseconds.
  await measureCells(open, cells.map((cell) => ({ ...cell, windowMs: WARM_UP_MS })));
  console.log(JSON.stringify({ results: await measureCells(open, cells) }));
}

/** How long each cell runs, unmeasured, before the measured pass. */
const WARM_UP_MS = 500;

/**
 * @param {(size: number, type: 'text' | 'binary') => Promise<Client>} open
 * @param {ClientCell[]} cells
 */
async function measureCells(open, cells) {
  const results = [];
  for (const cell of cells) {
    const expected = payloadFor(cell.size, cell.type);
    const client = await open(cell.size, cell.type);
    let measuring = false;
    let sending = true;
    let echoes = 0;
    let outstanding = cell.inflight;
    /** @type {string | null} */
    let failure = null;
    /** @type {number[]} */
    const rtts = [];
    let sentAt = 0;
    /** @type {() => void} */
    let drained = () => {};
    client.onMessage((data) => {
      if (!same(data, expected)) failure ??= 'echo differs from what was sent';
      if (measuring) {
        echoes++;
        if (cell.inflight === 1 && rtts.length < 1_000_000) rtts.push(performance.now() - sentAt);
      }
      if (sending) {
        sentAt = performance.now();
        client.send(expected);
      } else if (--outstanding === 0) drained();
    });
    sentAt = performance.now();
    for (let i = 0; i < cell.inflight; i++) client.send(expected);
    await sleep(cell.warmupMs);
    measuring = true;
    const c0 = cpuMs();
    const t0 = performance.now();
    await sleep(cell.windowMs);
    const t1 = performance.now();
    const c1 = cpuMs();
    const count = echoes;
    measuring = false;
    sending = false;
    await Promise.race([new Promise((resolve) => (drained = () => resolve(undefined))), sleep(20_000)]);
    await Promise.race([client.close(), sleep(2000)]);
    rtts.sort((a, b) => a - b);
    const q = (/** @type {number} */ p) =>
      rtts.length === 0 ? null : (rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))] ?? 0) * 1000;
    results.push({
      ...cell,
      ok: failure === null && count > 0,
      error: failure,
      messages: count,
      msgPerSec: count / ((t1 - t0) / 1000),
      p50Us: cell.inflight === 1 ? q(0.5) : null,
      p99Us: cell.inflight === 1 ? q(0.99) : null,
      clientCpuUsPerMsg: count > 0 ? ((c1 - c0) * 1000) / count : null,
      clientCpuPct: ((c1 - c0) / (t1 - t0)) * 100,
    });
  }
  return results;
}

/** This process's user + system CPU time in ms (getrusage, every thread; node:process works on all three). */
export function cpuMs() {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}
