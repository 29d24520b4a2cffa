// @ts-check
/**
 * Memory per idle connection on Node, by kind: the harness's Node echo servers (`bench/servers/node-*.mjs`,
 * unchanged) each get N connections that complete the handshake and echo one 16-byte binary message, as the
 * harness's memory section does, and then stay open. The server process answers through a preloaded probe
 * (`bench/lib/heap-probe.mjs`), so besides RSS this reports V8 heap, `external` and `arrayBuffers` growth per
 * connection, and with `--census` what that heap growth is made of (a heap snapshot summed by constructor,
 * diffed against the one taken before the connections opened; `--detail` splits each constructor by
 * the field that holds it). `--spaces` adds where the resident growth lies (glibc's heap, anonymous
 * mappings, files: /proc/PID/smaps) and how each V8 heap space grew; `--allocations` what the opening of
 * the connections allocated, garbage included, by allocating function (first run only: the sampling
 * profiler's own memory inflates that run's RSS).
 *
 *   npx tsc -b && node bench/idle.mjs [--count 10000] [--runs 3] [--servers sansws-node,raw-node,ws-node]
 *                                     [--census | --detail] [--spaces] [--allocations] [--top 30]
 *
 * Servers run interleaved per run (A B C, A B C, …), each in a fresh process; figures are per connection,
 * (after − before) ÷ N, both after two full GCs. The client sockets live in this process, not the server's.
 *
 * @module
 */

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { handshakeRequest, makeMessage, openMany } from './lib/wire.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const argv = process.argv.slice(2);
/** @param {string} name */
const option = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const COUNT = Number(option('--count') ?? 10_000);
const RUNS = Number(option('--runs') ?? 3);
const TOP = Number(option('--top') ?? 30);
const ALLOCATIONS = argv.includes('--allocations');
const SPACES = argv.includes('--spaces');
const CENSUS = argv.includes('--census') ? 'census' : argv.includes('--detail') ? 'detail' : null;

/** @type {Record<string, { script: string, args?: string[], raw: boolean, env?: Record<string, string> }>} */
const SERVERS = {
  'sansws-node': { script: 'bench/servers/node-sansws.mjs', raw: false },
  'sansws-node-handler': { script: 'bench/servers/node-sansws.mjs', args: ['--handler'], raw: false },
  'ws-node': { script: 'bench/servers/node-ws.mjs', raw: false },
  'ws-node-js': {
    script: 'bench/servers/node-ws.mjs',
    raw: false,
    env: { WS_NO_BUFFER_UTIL: '1', WS_NO_UTF_8_VALIDATE: '1' },
  },
  'raw-node': { script: 'bench/servers/node-raw.mjs', raw: true },
};
const chosen = (option('--servers') ?? 'sansws-node,raw-node,ws-node').split(',');
for (const id of chosen) if (!(id in SERVERS)) throw new Error(`unknown server ${id}`);

const MESSAGE = makeMessage(16, 'binary', false);

/**
 * @typedef {object} Server
 * @property {import('node:child_process').ChildProcess} child
 * @property {number} port
 * @property {(probe: string) => Promise<any>} ask
 */

/** @param {string} id @returns {Promise<Server>} */
function startServer(id) {
  const spec = /** @type {(typeof SERVERS)[string]} */ (SERVERS[id]);
  const child = spawn(
    process.execPath,
    ['--expose-gc', '--import', './bench/lib/heap-probe.mjs', spec.script, ...(spec.args ?? [])],
    { cwd: root, env: { ...process.env, ...spec.env }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] },
  );
  /** @type {Map<string, (result: any) => void>} */
  const waiting = new Map();
  child.on('message', (/** @type {any} */ message) => {
    const resolve = waiting.get(message?.probe);
    waiting.delete(message?.probe);
    resolve?.(message.result);
  });
  /** @param {string} probe */
  const ask = (probe) =>
    new Promise((resolve) => {
      waiting.set(probe, resolve);
      child.send({ probe });
    });
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`${id} exited (${code})`)));
    child.stdout?.on('data', (chunk) => {
      out += chunk;
      const line = out.split('\n').find((l) => l.includes('"ready"'));
      if (line !== undefined) resolve({ child, port: JSON.parse(line).port, ask });
    });
  });
}

/**
 * One idle connection: handshake, one 16 B binary echo (whole frame back), then nothing.
 * @param {number} port
 * @param {boolean} raw
 * @returns {Promise<net.Socket>}
 */
function openIdle(port, raw) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    let received = Buffer.alloc(0);
    let headEnd = -1;
    // The echo: 2 + 16 bytes from a WebSocket server, our masked 22-byte frame from a raw one.
    const echoLength = raw ? MESSAGE.frame.length : 2 + 16;
    socket.on('error', reject);
    socket.on('connect', () => socket.write(handshakeRequest(port, false)));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (headEnd < 0) {
        const end = received.indexOf('\r\n\r\n');
        if (end < 0) return;
        headEnd = end + 4;
        if (!received.subarray(0, 12).toString('latin1').startsWith('HTTP/1.1 101')) {
          reject(new Error(`refused: ${received.subarray(0, 40).toString('latin1')}`));
          return;
        }
        socket.write(MESSAGE.frame);
      }
      if (received.length - headEnd >= echoLength) {
        socket.removeAllListeners('data');
        socket.removeAllListeners('error');
        socket.on('error', () => {});
        resolve(socket);
      }
    });
  });
}

/** @param {number} port @param {boolean} raw @param {number} count */
function openIdleMany(port, raw, count) {
  return openMany(count, 200, () => openIdle(port, raw));
}

/** @param {net.Socket[]} sockets */
async function closeAll(sockets) {
  await Promise.all(sockets.map((s) => new Promise((resolve) => (s.once('close', resolve), s.destroy()))));
}

/**
 * Resident bytes of a process by kind of mapping (/proc/PID/smaps): glibc's main heap (`[heap]`), other
 * anonymous mappings (V8's heap pages, thread arenas, large mallocs), files, the rest.
 * @param {number | undefined} pid
 * @returns {Record<string, number>}
 */
function residentByMapping(pid) {
  /** @type {Record<string, number>} */
  const out = {};
  let kind = 'other';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'latin1').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head !== null) {
      const name = head[1] ?? '';
      kind = name === '' ? 'anon' : name.startsWith('[') ? name : 'file';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss !== null) out[kind] = (out[kind] ?? 0) + Number(rss[1]) * 1024;
  }
  return out;
}

/**
 * `name growth, …`: how much each entry of `after` grew from `before`, per connection, in bytes.
 * @param {Record<string, number>} before
 * @param {Record<string, number>} after
 */
function growthPerConnection(before, after) {
  return Object.keys(after).map((name) =>
    `${name} ${(((after[name] ?? 0) - (before[name] ?? 0)) / COUNT).toFixed(0)}`
  )
    .join(', ');
}

const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** @param {Record<string, {count: number, bytes: number}>} before @param {Record<string, {count: number, bytes: number}>} after */
function diffCensus(before, after) {
  const rows = [];
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = before[key] ?? { count: 0, bytes: 0 };
    const b = after[key] ?? { count: 0, bytes: 0 };
    rows.push({ key, count: (b.count - a.count) / COUNT, bytes: (b.bytes - a.bytes) / COUNT });
  }
  return rows.sort((x, y) => y.bytes - x.bytes);
}

/** @type {Record<string, Array<Record<string, number>>>} */
const results = {};
for (let run = 1; run <= RUNS; run++) {
  for (const id of chosen) {
    const spec = /** @type {(typeof SERVERS)[string]} */ (SERVERS[id]);
    const server = await startServer(id);
    try {
      await closeAll(await openIdleMany(server.port, spec.raw, 10)); // warm the code paths up
      await sleep(200);
      const censusBefore = CENSUS !== null && run === 1 ? await server.ask(CENSUS) : null;
      const before = await server.ask('usage');
      const smapsBefore = SPACES ? residentByMapping(server.child.pid) : null;
      if (ALLOCATIONS && run === 1) await server.ask('sample');
      const sockets = await openIdleMany(server.port, spec.raw, COUNT);
      const allocations = ALLOCATIONS && run === 1 ? await server.ask('sampled') : null;
      await sleep(1000);
      const after = await server.ask('usage');
      const per = {
        rss: (after.rss - before.rss) / COUNT,
        heapUsed: (after.heapUsed - before.heapUsed) / COUNT,
        external: (after.external - before.external) / COUNT,
        arrayBuffers: (after.arrayBuffers - before.arrayBuffers) / COUNT,
      };
      (results[id] ??= []).push(per);
      console.log(
        `run ${run} ${id.padEnd(12)} rss ${(per.rss / 1024).toFixed(2)} KiB, heap ${
          (per.heapUsed / 1024).toFixed(2)
        } KiB, external ${per.external.toFixed(0)} B (arrayBuffers ${per.arrayBuffers.toFixed(0)} B)`,
      );
      if (allocations !== null) {
        const rows = Object.entries(allocations).sort((a, b) => b[1] - a[1]);
        const total = rows.reduce((sum, [, bytes]) => sum + bytes, 0);
        console.log(
          `  allocated while opening, per connection (sampled): ${(total / COUNT).toFixed(0)} B; largest:`,
        );
        for (const [key, bytes] of rows.slice(0, TOP)) {
          console.log(`    ${(bytes / COUNT).toFixed(0).padStart(6)} B  ${key}`);
        }
      }
      if (smapsBefore !== null) {
        const grown = growthPerConnection(smapsBefore, residentByMapping(server.child.pid));
        console.log(`  resident growth per connection by mapping, B: ${grown}`);
        const spaces = growthPerConnection(before.spaces, after.spaces).replace(/_space /g, ' ');
        console.log(`  heap spaces' size growth per connection, B: ${spaces}`);
      }
      if (censusBefore !== null) {
        const rows = diffCensus(censusBefore, await server.ask(/** @type {string} */ (CENSUS)));
        const total = rows.reduce((sum, r) => sum + r.bytes, 0);
        console.log(`  heap snapshot growth per connection, ${total.toFixed(0)} B in all; largest:`);
        for (const r of rows.slice(0, TOP)) {
          if (Math.abs(r.bytes) < 4) continue;
          console.log(
            `    ${r.bytes.toFixed(0).padStart(6)} B  ×${r.count.toFixed(2).padStart(5)}  ${r.key}`,
          );
        }
      }
      await closeAll(sockets);
    } finally {
      server.child.kill('SIGKILL');
    }
  }
}

const median = (/** @type {number[]} */ v) => [...v].sort((a, b) => a - b)[v.length >> 1] ?? NaN;
console.log(`\nPer idle connection, ${COUNT} connections, median of ${RUNS} runs (all runs):`);
console.log('| server | RSS KiB | heap KiB | external B |');
console.log('| --- | ---: | ---: | ---: |');
for (const [id, runs] of Object.entries(results)) {
  const col = (/** @type {string} */ key, /** @type {number} */ scale, /** @type {number} */ digits) =>
    `${(median(runs.map((r) => r[key] ?? NaN)) / scale).toFixed(digits)} (${
      runs.map((r) => ((r[key] ?? NaN) / scale).toFixed(digits)).join(' / ')
    })`;
  console.log(`| ${id} | ${col('rss', 1024, 2)} | ${col('heapUsed', 1024, 2)} | ${col('external', 1, 0)} |`);
}
