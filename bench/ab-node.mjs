// @ts-check
/**
 * Same-run A/B of two builds of the Node sansws echo server over one connection, one message in flight
 * (the 1 × 1 path) or `--inflight N` pipelined (p50 and p99 only with one in flight). Each checkout's own
 * `bench/servers/node-sansws.mjs` (with its built `dist/`) runs as a server
 * pinned to core 0 (`taskset`, when there are two cores); this process drives both from core 1, alternating
 * windows A B A B …, and reports per build the median over windows of the server's CPU time per echo (user +
 * system from /proc) and of the round-trip p50 and p99.
 *
 *   node bench/ab-node.mjs --a /path/to/old/checkout --b /path/to/new/checkout [--size 16] [--type binary]
 *                          [--inflight 1] [--windows 10] [--ms 1000] [--script-a FILE] [--script-b FILE]
 *                          [--args-a 'ARG …'] [--args-b 'ARG …']
 *
 * `--script-a` / `--script-b` run another echo server of `bench/servers/` as A or B (default
 * `bench/servers/node-sansws.mjs`), e.g. `--script-a bench/servers/node-ws.mjs` to set sansws against `ws`
 * in the same way. A script named `bun-….ts` runs under the checkout's Bun, `deno-….ts` under its Deno (as
 * `bench/lib/servers.mjs` runs them), e.g. `--script-a bench/servers/bun-sansws.ts --script-b
 * bench/servers/bun-sansws.ts` for an A/B of the Bun adapter. `--args-a` / `--args-b` pass arguments to the
 * script (space-separated), e.g. `--args-b --handler` for the sansws echo from a message handler.
 *
 * A checkout for the baseline: `git worktree add /tmp/old REV`, a `node_modules` there whose `@sansws/*`
 * links point at that checkout's packages (and the rest at this one's), then `npx tsc -b adapters/node` in it.
 *
 * @module
 */

import { spawn } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { readCpuTicks, TICK_MS } from './lib/proc.mjs';
import { handshakeRequest, makeMessage } from './lib/wire.mjs';

const argv = process.argv.slice(2);
/** @param {string} name @param {string} fallback */
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] ?? fallback : fallback;
};
const roots = { A: path.resolve(option('--a', '.')), B: path.resolve(option('--b', '.')) };
const scripts = {
  A: option('--script-a', 'bench/servers/node-sansws.mjs'),
  B: option('--script-b', 'bench/servers/node-sansws.mjs'),
};
/** @type {Record<'A' | 'B', string[]>} */
const scriptArgs = {
  A: option('--args-a', '').split(' ').filter((a) => a !== ''),
  B: option('--args-b', '').split(' ').filter((a) => a !== ''),
};
const size = Number(option('--size', '16'));
const type = option('--type', 'binary') === 'text' ? 'text' : 'binary';
const windows = Number(option('--windows', '10'));
const windowMs = Number(option('--ms', '1000'));
const inflight = Math.max(1, Number(option('--inflight', '1')));
const pin = os.cpus().length >= 2;
const message = makeMessage(size, type, false);
const echoLength = size + (size < 126 ? 2 : size < 65536 ? 4 : 10);

/**
 * @param {string} root
 * @param {string} script
 * @param {string[]} extra arguments of the script
 * @returns {Promise<{ pid: number, port: number, kill: () => void }>}
 */
function startServer(root, script, extra) {
  const name = path.basename(script);
  const bin = (/** @type {string} */ tool) => path.join(root, 'node_modules/.bin', tool);
  const args = name.startsWith('bun-')
    ? [bin('bun'), script, ...extra]
    : name.startsWith('deno-')
    ? [bin('deno'), 'run', '--allow-net', '--v8-flags=--expose-gc', script, ...extra]
    : [process.execPath, script, ...extra];
  const child = pin
    ? spawn('taskset', ['-c', '0', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(args[0] ?? 'node', args.slice(1), { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`server in ${root} exited (${code})`)));
    child.stdout?.on('data', (chunk) => {
      out += chunk;
      const line = out.split('\n').find((l) => l.includes('"ready"'));
      if (line !== undefined) {
        resolve({
          pid: /** @type {number} */ (child.pid),
          port: JSON.parse(line).port,
          kill: () => child.kill(),
        });
      }
    });
  });
}

/** An open connection that echoes one message at a time. @param {number} port */
function connect(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    let head = Buffer.alloc(0);
    socket.once('error', reject);
    socket.once('connect', () => socket.write(handshakeRequest(port, false)));
    const onHead = (/** @type {Buffer} */ chunk) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onHead);
      resolve(socket);
    };
    socket.on('data', onHead);
  });
}

/**
 * Echoes for `ms` with `inflight` messages in flight; returns the echoes, the seconds they took (until
 * the last one sent is back) and, with one in flight, their round trips (µs).
 * @param {net.Socket} socket
 * @param {number} ms
 * @returns {Promise<{ echoes: number, seconds: number, rtts: number[] }>}
 */
async function run(socket, ms) {
  const started = performance.now();
  if (inflight > 1) {
    const echoes = await pipelined(socket, ms);
    return { echoes, seconds: (performance.now() - started) / 1000, rtts: [] };
  }
  const rtts = await oneByOne(socket, ms);
  return { echoes: rtts.length, seconds: (performance.now() - started) / 1000, rtts };
}

/**
 * Keeps `inflight` messages in flight for `ms` (a new one sent for every echo back), then waits for the
 * last ones; returns the echoes.
 * @param {net.Socket} socket
 * @param {number} ms
 * @returns {Promise<number>}
 */
function pipelined(socket, ms) {
  return new Promise((resolve) => {
    const end = performance.now() + ms;
    let sent = 0;
    let echoes = 0;
    let partial = 0;
    const send = (/** @type {number} */ n) => {
      socket.cork();
      for (let i = 0; i < n; i++) socket.write(message.frame);
      socket.uncork();
      sent += n;
    };
    const onData = (/** @type {Buffer} */ chunk) => {
      partial += chunk.length;
      const back = Math.floor(partial / echoLength);
      partial -= back * echoLength;
      echoes += back;
      if (back > 0 && performance.now() < end) send(back);
      else if (echoes === sent) {
        socket.off('data', onData);
        resolve(echoes);
      }
    };
    socket.on('data', onData);
    send(inflight);
  });
}

/**
 * Echoes one message at a time for `ms`; returns the round trips (µs).
 * @param {net.Socket} socket
 * @param {number} ms
 * @returns {Promise<number[]>}
 */
function oneByOne(socket, ms) {
  return new Promise((resolve) => {
    /** @type {number[]} */
    const rtts = [];
    let received = 0;
    let sentAt = 0;
    const end = performance.now() + ms;
    const send = () => {
      received = 0;
      sentAt = performance.now();
      socket.write(message.frame);
    };
    const onData = (/** @type {Buffer} */ chunk) => {
      received += chunk.length;
      if (received < echoLength) return;
      const now = performance.now();
      rtts.push((now - sentAt) * 1000);
      if (now < end) send();
      else {
        socket.off('data', onData);
        resolve(rtts);
      }
    };
    socket.on('data', onData);
    send();
  });
}

const median = (/** @type {number[]} */ v) => [...v].sort((a, b) => a - b)[v.length >> 1] ?? NaN;
const quantile = (/** @type {number[]} */ v, /** @type {number} */ q) =>
  [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(q * v.length))] ?? NaN;

const servers = {
  A: await startServer(roots.A, scripts.A, scriptArgs.A),
  B: await startServer(roots.B, scripts.B, scriptArgs.B),
};
/** @type {Record<'A' | 'B', { cpu: number[], p50: number[], p99: number[], rate: number[], faults: number[] }>} */
const stats = {
  A: { cpu: [], p50: [], p99: [], rate: [], faults: [] },
  B: { cpu: [], p50: [], p99: [], rate: [], faults: [] },
};
try {
  const sockets = { A: await connect(servers.A.port), B: await connect(servers.B.port) };
  for (const id of /** @type {const} */ (['A', 'B'])) await run(sockets[id], 300); // warm-up
  for (let w = 0; w < windows; w++) {
    /** @type {Array<'A' | 'B'>} */
    const order = w % 2 === 0 ? ['A', 'B'] : ['B', 'A'];
    for (const id of order) {
      const before = readCpuTicks(servers[id].pid);
      const { echoes, seconds, rtts } = await run(sockets[id], windowMs);
      const after = readCpuTicks(servers[id].pid);
      const cpuUs = (after.user + after.system - before.user - before.system) * TICK_MS * 1000;
      stats[id].cpu.push(cpuUs / echoes);
      stats[id].p50.push(quantile(rtts, 0.5));
      stats[id].p99.push(quantile(rtts, 0.99));
      stats[id].rate.push(echoes / seconds);
      stats[id].faults.push((after.minorFaults - before.minorFaults) / echoes);
    }
  }
  for (const socket of Object.values(sockets)) socket.destroy();
} finally {
  servers.A.kill();
  servers.B.kill();
}
console.log(
  `${type} ${size} B, 1×${inflight}, ${windows} windows of ${windowMs} ms each, alternating (medians):`,
);
for (const id of /** @type {const} */ (['A', 'B'])) {
  const s = stats[id];
  console.log(
    `  ${id} ${roots[id]} ${scripts[id]}: ${median(s.rate).toFixed(0)} msg/s, CPU ${
      median(s.cpu).toPrecision(3)
    } µs/msg, ` +
      `p50 ${median(s.p50).toFixed(0)} µs, p99 ${median(s.p99).toFixed(0)} µs, ` +
      `${median(s.faults).toFixed(1)} page faults/msg`,
  );
  if (argv.includes('--verbose')) {
    console.log(`    CPU µs/msg per window: ${s.cpu.map((v) => v.toFixed(0)).join(' ')}`);
  }
}
const ratio = (/** @type {'cpu' | 'p50' | 'p99' | 'rate'} */ key) =>
  (median(stats.B[key]) / median(stats.A[key])).toFixed(2);
console.log(
  `  B ÷ A: msg/s ${ratio('rate')}×, CPU/msg ${ratio('cpu')}×, p50 ${ratio('p50')}×, p99 ${ratio('p99')}×`,
);
// Each window of B beside the window of A next to it in time: load that drifts between windows cancels.
const paired = (/** @type {'cpu' | 'p50' | 'p99' | 'rate'} */ key) =>
  median(stats.B[key].map((b, i) => b / (stats.A[key][i] ?? NaN))).toFixed(2);
console.log(
  `  B ÷ A, median of paired windows: msg/s ${paired('rate')}×, CPU/msg ${paired('cpu')}×, ` +
    `p50 ${paired('p50')}×, p99 ${paired('p99')}×`,
);
