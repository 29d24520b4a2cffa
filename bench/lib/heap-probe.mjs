// @ts-check
/**
 * Preloaded into an echo server by `bench/idle.mjs` (`node --expose-gc --import ./bench/lib/heap-probe.mjs
 * bench/servers/….mjs`, forked with an IPC channel): answers the parent's questions about this process's
 * memory without touching the server's own code.
 *
 * - `{ probe: 'usage' }` → two full GCs, then `process.memoryUsage()` (rss, heapUsed, external, arrayBuffers)
 *   and `spaces`, each V8 heap space's size (reserved and committed by the heap: what RSS can see of it).
 * - `{ probe: 'sample' }`, then `{ probe: 'sampled' }` → what was allocated between the two (garbage too), by
 *   allocating function: V8's sampling heap profiler, every 64 bytes on average.
 * - `{ probe: 'census' }` → two full GCs, then a V8 heap snapshot summed by node type and constructor name
 *   (self sizes and counts), so that two censuses can be diffed: what N more connections hold, by kind.
 * - `{ probe: 'detail' }` → the same, each kind split further by its first retainer and the edge from it
 *   (`object:Array  <- object:Conn.#jobs`): which field holds what. A generic retainer (an array, a plain,
 *   hidden or context object) is followed by its own (`array  <- object:Array.elements  <- object:X.#list`).
 *
 * @module
 */

import { Session } from 'node:inspector';
import { getHeapSnapshot, getHeapSpaceStatistics } from 'node:v8';

const gc = /** @type {(() => void) | undefined} */ (globalThis.gc);

/** Holders named by their own holder too, in `detail` (see census). */
const GENERIC = new Set(['array', 'hidden', 'object:Array', 'object:Object', 'object:system']);

function fullGc() {
  gc?.();
  gc?.();
}

/**
 * Reads a heap snapshot and sums self sizes by "type:name" (name: the constructor for objects, the
 * function name for closures; strings, arrays, code and hidden objects by type only).
 * @returns {Promise<Record<string, { count: number, bytes: number }>>}
 */
async function census(detail = false) {
  const parts = [];
  for await (const chunk of getHeapSnapshot()) parts.push(chunk);
  const snapshot = JSON.parse(Buffer.concat(parts).toString('utf8'));
  const meta = snapshot.snapshot.meta;
  const fields = meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const types = meta.node_types[typeAt];
  const nodes = snapshot.nodes;
  const strings = snapshot.strings;
  /** @type {Int32Array | null} the first retainer of each node (node index), with `detail` */
  let retainer = null;
  /** @type {Int32Array | null} the name or index of the edge from that retainer */
  let retainerEdge = null;
  if (detail) {
    const edgeFields = meta.edge_fields;
    const edgeWidth = edgeFields.length;
    const edgeTypeAt = edgeFields.indexOf('type');
    const edgeNameAt = edgeFields.indexOf('name_or_index');
    const toAt = edgeFields.indexOf('to_node');
    const edgeTypes = meta.edge_types[edgeTypeAt];
    const countAt = fields.indexOf('edge_count');
    const edges = snapshot.edges;
    retainer = new Int32Array(nodes.length / width).fill(-1);
    retainerEdge = new Int32Array(nodes.length / width).fill(-1);
    let e = 0;
    for (let i = 0; i < nodes.length; i += width) {
      const n = nodes[i + countAt];
      for (let k = 0; k < n; k++, e += edgeWidth) {
        const edgeType = edgeTypes[edges[e + edgeTypeAt]];
        if (edgeType === 'weak' || edgeType === 'shortcut') continue;
        const to = edges[e + toAt] / width;
        if (retainer[to] !== -1) continue;
        retainer[to] = i / width;
        retainerEdge[to] = edgeType === 'element' || edgeType === 'hidden'
          ? -2 - edges[e + edgeNameAt]
          : edges[e + edgeNameAt];
      }
    }
  }
  /** @param {number} i */
  const nameOf = (i) => {
    const type = types[nodes[i + typeAt]];
    return type === 'object' || type === 'closure' || type === 'native'
      ? `${type}:${String(strings[nodes[i + nameAt]]).split(' ')[0]}`
      : type;
  };
  /** @type {Record<string, { count: number, bytes: number }>} */
  const out = {};
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    const byName = type === 'object' || type === 'closure' || type === 'native';
    // Object names may carry details ("Object / …"); nameOf keeps the constructor part.
    let key = byName ? nameOf(i) : type;
    if (retainer !== null && retainerEdge !== null) {
      // A generic holder (an array, a hidden or plain object, a context) says little: its own holder is
      // named too, one level up.
      let node = i / width;
      for (let level = 0; level < 2; level++) {
        const owner = retainer[node] ?? -1;
        const edge = retainerEdge[node] ?? -1;
        if (owner < 0) break;
        const via = edge <= -2 ? `[${-2 - edge}]` : `.${String(strings[edge]).slice(0, 30)}`;
        const ownerName = nameOf(owner * width);
        key += `  <- ${ownerName}${via}`;
        if (!GENERIC.has(ownerName)) break;
        node = owner;
      }
    }
    const entry = (out[key] ??= { count: 0, bytes: 0 });
    entry.count++;
    entry.bytes += nodes[i + sizeAt];
  }
  return out;
}

/** @type {Session | null} the inspector session of a running allocation sampling */
let sampling = null;

/**
 * Sums a sampling heap profile's self sizes by allocating function (`name file:line`).
 * @param {any} node a profile node
 * @param {Record<string, number>} out
 */
function sumProfile(node, out) {
  const frame = node.callFrame;
  const key = `${frame.functionName || '(anonymous)'} ${String(frame.url).split('/').slice(-2).join('/')}:${
    frame.lineNumber + 1
  }`;
  if (node.selfSize > 0) out[key] = (out[key] ?? 0) + node.selfSize;
  for (const child of node.children) sumProfile(child, out);
  return out;
}

process.on('message', (/** @type {any} */ message) => {
  if (message === null || typeof message !== 'object' || typeof message.probe !== 'string') return;
  const reply = (/** @type {unknown} */ result) => process.send?.({ probe: message.probe, result });
  if (message.probe === 'sample') {
    // Every allocation from here on, whether it lives or not, sampled every 64 bytes on average.
    sampling = new Session();
    sampling.connect();
    sampling.post('HeapProfiler.startSampling', {
      samplingInterval: 64,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    }, () => reply(true));
    return;
  }
  if (message.probe === 'sampled') {
    const session = sampling;
    sampling = null;
    session?.post('HeapProfiler.stopSampling', (error, result) => {
      session.disconnect();
      reply(error === null ? sumProfile(result.profile.head, {}) : { error: String(error) });
    });
    return;
  }
  fullGc();
  if (message.probe === 'usage') {
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size]));
    reply({ ...process.memoryUsage(), spaces });
  } else if (message.probe === 'census' || message.probe === 'detail') {
    census(message.probe === 'detail').then(reply, (error) => reply({ error: String(error) }));
  }
});
