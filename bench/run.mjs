// @ts-check
/**
 * The server benchmark harness: echo servers side by side (sansws on Node, Bun and Deno; `ws` with and
 * without its native addons; Bun.serve's and Deno.upgradeWebSocket's WebSockets; a raw TCP echo per
 * runtime), one load generator for all of them, then idle memory at many connections, then the client side.
 *
 *   node bench/run.mjs [--quick] [--out DIR] [--no-workspaces] [--skip-memory] [--skip-clients]
 *                      [--servers ID,ID…] [--cells SUBSTRING]   (subsets, for profiling)
 *
 * (`npm run bench` builds, runs this, then the workspaces' own benchmarks; `npm run bench -- --quick` is a
 * bounded smoke run.) Loopback only. Servers are pinned to core 0 and the load to core 1 with `taskset` when
 * there are two cores or more. Every cell is repeated, servers interleaved cell by cell (A B C A B C …), and
 * the median run is reported. Every child process is killed on the way out, errors and signals included.
 *
 * Writes DIR/results.json, DIR/report.md and DIR/*.svg (DIR: bench/results for a full run,
 * bench/results/quick for --quick).
 *
 * @module
 */

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { QUIET_MAX_MS, QUIET_MS, readRss, TICK_MS, waitQuiet } from './lib/proc.mjs';
import {
  allocatorSettings,
  BUN,
  CAN_PIN,
  DENO,
  LOAD_CORE,
  NODE,
  SERVER_CORE,
  SERVERS,
} from './lib/servers.mjs';

/** @typedef {import('./lib/servers.mjs').ServerSpec} ServerSpec */
import { describeSettling, evaluate, renderCharts, renderReport } from './lib/report.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
/** @param {string} name */
const option = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const outIndex = argv.indexOf('--out');
const outDir = path.resolve(
  outIndex >= 0 ? argv[outIndex + 1] ?? '' : path.join(here, 'results', quick ? 'quick' : ''),
);

const KiB = 1024;
const MiB = 1024 * 1024;
/** @typedef {{ name: string, conns: number, inflight: number }} Shape */
/** @type {Shape[]} */
const SHAPES = [
  { name: '1 conn × 1 in flight', conns: 1, inflight: 1 },
  { name: '1 conn × 64 in flight', conns: 1, inflight: 64 },
  { name: '100 conns × 8 in flight', conns: 100, inflight: 8 },
];
const [, PIPELINED] = /** @type {[Shape, Shape, Shape]} */ (SHAPES);

const config = quick
  ? {
    repeats: 3,
    warmupMs: 60,
    serverWarmupMs: 150,
    windowMs: 150,
    idleConnections: 1000,
    memoryPasses: 1,
    binarySizes: [16, 64 * KiB],
    binaryShapes: SHAPES,
    textSizes: [1 * KiB],
    textShapes: [PIPELINED],
    compressSizes: [1 * KiB],
    compressShapes: [PIPELINED],
    clientRepeats: 2,
    clientWindowMs: 150,
  }
  : {
    repeats: 5,
    // A server idles through the other servers' windows (two seconds and more) and takes a while to get
    // back up to speed: with 80 ms of warm-up the windows measured that climb (the text family with every
    // server, two runs: 16 B 1×1 echoes 10–49% dearer in CPU than with 400 ms, sansws on Bun at 0.59×
    // `Bun.serve` in text 64 KiB 100×8 against 1.02×; docs/performance-log.md, round 11).
    warmupMs: 400,
    serverWarmupMs: 500,
    windowMs: 250,
    idleConnections: 10_000,
    memoryPasses: 3,
    binarySizes: [16, 1 * KiB, 64 * KiB, 1 * MiB],
    binaryShapes: SHAPES,
    textSizes: [16, 1 * KiB, 64 * KiB, 1 * MiB],
    textShapes: SHAPES,
    compressSizes: [16, 1 * KiB, 64 * KiB],
    compressShapes: SHAPES,
    clientRepeats: 5,
    clientWindowMs: 300,
  };

// ---------------------------------------------------------------------------------------------------------
// Child processes: pinned, fd limit raised, always killed.

const cores = os.availableParallelism();
const fdLimit = (() => {
  try {
    const hard = execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
    return hard === 'unlimited' ? 65536 : Math.min(Number(hard), 65536);
  } catch {
    return 0;
  }
})();

/** @type {Set<import('node:child_process').ChildProcess>} */
const children = new Set();

/**
 * Spawns `command` through `sh` (to raise the fd limit) and `taskset` (to pin it); both exec, so the
 * child's pid is the program's own and /proc/<pid>/stat is its accounting.
 * @param {string[]} command
 * @param {string | null} core
 * @param {Record<string, string>} env
 * @param {boolean} ipc
 */
function launch(command, core, env, ipc) {
  const pinned = CAN_PIN && core !== null ? ['taskset', '-c', core, ...command] : command;
  const script = `${fdLimit > 0 ? `ulimit -n ${fdLimit} 2>/dev/null; ` : ''}exec "$@"`;
  const child = spawn('sh', ['-c', script, 'sh', ...pinned], {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

/** @param {import('node:child_process').ChildProcess} child */
async function kill(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
  await Promise.race([exited, sleep(4000)]);
  clearTimeout(timer);
}

function killAllSync() {
  for (const child of children) child.kill('SIGKILL');
}
process.on('exit', killAllSync);
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
  process.on(signal, () => {
    killAllSync();
    process.exit(130);
  });
}

/** @param {number} ms */
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * @typedef {object} RunningServer
 * @property {ServerSpec} spec
 * @property {import('node:child_process').ChildProcess} child
 * @property {number} pid
 * @property {number} port
 * @property {Record<string, unknown>} info
 * @property {string[]} stderr
 */

/**
 * @param {ServerSpec} spec
 * @param {boolean} compress
 * @returns {Promise<RunningServer>}
 */
async function startServer(spec, compress) {
  const command = compress ? [...spec.command, '--compress'] : spec.command;
  const child = launch(command, SERVER_CORE, spec.env ?? {}, false);
  /** @type {string[]} */
  const stderr = [];
  child.stderr?.on('data', (d) => {
    if (stderr.length < 50) stderr.push(String(d));
  });
  const ready = new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout?.on('data', (d) => {
      buffered += String(d);
      for (const line of buffered.split('\n')) {
        if (line.startsWith('{') && line.includes('"ready"')) {
          try {
            resolve(JSON.parse(line));
          } catch {
            // not yet a whole line
          }
        }
      }
    });
    child.once(
      'exit',
      (code) => reject(new Error(`${spec.id} exited (${code}): ${stderr.join('').slice(0, 500)}`)),
    );
  });
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${spec.id} did not start within 30 s`)), 30_000);
  });
  try {
    const info = /** @type {Record<string, unknown>} */ (await Promise.race([ready, timeout]));
    return { spec, child, pid: /** @type {number} */ (child.pid), port: Number(info['port']), info, stderr };
  } catch (error) {
    await kill(child);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------------------
// The load generator.

const load = launch([NODE, 'bench/lib/load.mjs'], LOAD_CORE, {}, true);
let nextId = 0;
/** @type {Map<number, (result: any) => void>} */
const pending = new Map();
load.on('message', (/** @type {any} */ message) => {
  pending.get(message.id)?.(message.result);
  pending.delete(message.id);
});
load.stderr?.on('data', (d) => process.stderr.write(`[load] ${d}`));

/**
 * @param {Record<string, unknown>} command
 * @param {number} timeoutMs
 * @returns {Promise<any>}
 */
function ask(command, timeoutMs) {
  const id = nextId++;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      resolve({ ok: false, error: `no answer from the load generator within ${timeoutMs} ms` });
    }, timeoutMs);
    pending.set(id, (result) => {
      clearTimeout(timer);
      resolve(result);
    });
    load.send({ ...command, id });
  });
}

// ---------------------------------------------------------------------------------------------------------
// Cells.

/**
 * @typedef {object} Cell
 * @property {string} key
 * @property {string} family
 * @property {number} size
 * @property {'text' | 'binary'} type
 * @property {boolean} compress
 * @property {Shape} shape
 * @property {string[]} servers
 */

/** @returns {Cell[]} */
function cells() {
  /** @type {Cell[]} */
  const out = [];
  /**
   * @param {'text' | 'binary'} type
   * @param {boolean} compress
   * @param {number[]} sizes
   * @param {Shape[]} shapes
   */
  const add = (type, compress, sizes, shapes) => {
    for (const shape of shapes) {
      for (const size of sizes) {
        const servers = SERVERS.filter((s) =>
          compress ? s.compression : type === 'binary' || s.kind !== 'raw'
        ).map((s) => s.id);
        const family = `${type}${compress ? '-deflate' : ''}-${shape.conns}x${shape.inflight}`;
        out.push({ key: `${family}-${size}`, family, size, type, compress, shape, servers });
      }
    }
  };
  add('binary', false, config.binarySizes, config.binaryShapes);
  add('text', false, config.textSizes, config.textShapes);
  add('text', true, config.compressSizes, config.compressShapes);
  const only = option('--servers')?.split(',');
  const filter = option('--cells');
  return out
    .filter((c) => filter === undefined || c.key.includes(filter))
    .map((c) => ({ ...c, servers: c.servers.filter((id) => only === undefined || only.includes(id)) }));
}

/** @param {number[]} values */
function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] ?? null : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

const METRICS = /** @type {const} */ ([
  'msgPerSec',
  'mibPerSec',
  'p50Us',
  'p99Us',
  'serverCpuUsPerMsg',
  'serverCpuPct',
  'serverFaultsPerMsg',
  'serverReadsPerMsg',
  'serverWritesPerMsg',
  'loadCpuPct',
  'loadFaultsPerMsg',
  'serverRssBytes',
]);

/** The metrics kept run by run besides their medians (`series`), for the report's paired ratios. */
const SERIES = /** @type {const} */ (['msgPerSec', 'p50Us', 'p99Us', 'serverCpuUsPerMsg']);

/**
 * @param {any[]} runs the cell's runs of one server; those that succeeded carry `rep`, their repeat
 * @param {number} repeats
 */
function summarize(runs, repeats) {
  const ok = runs.filter((r) => r.ok);
  /** @type {Record<string, number | null>} */
  const med = {};
  for (const metric of METRICS) {
    const values = ok.map((r) => r[metric]).filter((v) => typeof v === 'number');
    med[metric] = values.length > 0 ? median(values) : null;
  }
  // Repeat i of every server of a cell ran back to back (servers interleaved), so the report can pair them.
  /** @type {Record<string, (number | null)[]>} */
  const series = {};
  for (const metric of SERIES) {
    series[metric] = Array.from({ length: repeats }, (_, rep) => {
      const v = ok.find((r) => r.rep === rep)?.[metric];
      return typeof v === 'number' && Number.isFinite(v) ? v : null;
    });
  }
  return { runs: ok.length, failures: runs.filter((r) => !r.ok).map((r) => r.error), median: med, series };
}

/** @param {number} n */
const fmtSize = (n) => (n >= MiB ? `${n / MiB} MiB` : n >= KiB ? `${n / KiB} KiB` : `${n} B`);

/**
 * Warms every freshly started server before anything is recorded: a few un-recorded windows over the kinds
 * of traffic the matrix sends (small and large, text and binary, one and many in flight), so that the first
 * cells do not measure a server whose code the JIT has not compiled yet — which costs a larger library more
 * than a smaller one, and the raw echo nothing.
 * @param {Map<string, RunningServer>} running
 * @param {boolean} compress
 */
async function warmServers(running, compress) {
  const kinds = [
    { conns: 1, inflight: 1, size: 16, type: 'binary' },
    { conns: 1, inflight: 64, size: 1 * KiB, type: 'text' },
    { conns: 1, inflight: 64, size: 64 * KiB, type: 'binary' },
  ];
  for (const server of running.values()) {
    const raw = server.spec.kind === 'raw';
    for (const kind of kinds) {
      if (raw && kind.type === 'text') continue;
      await ask({
        op: 'cell',
        port: server.port,
        serverPid: server.pid,
        ...kind,
        compress,
        raw,
        warmupMs: 0,
        windowMs: config.serverWarmupMs,
      }, 90_000);
    }
  }
}

/** How long the windows waited for every server to be quiet (waitQuiet), over the whole run. */
const settling = { waits: /** @type {number[]} */ ([]), unquiet: 0 };

/**
 * Runs cells with every server of the cell alive, interleaved per repeat.
 * @param {Cell[]} list
 * @param {Map<string, RunningServer>} running
 * @param {(id: string) => Promise<RunningServer>} restart
 */
async function runCells(list, running, restart) {
  const results = [];
  for (const cell of list) {
    /** @type {Record<string, any[]>} */
    const runs = Object.fromEntries(cell.servers.map((id) => [id, []]));
    for (let rep = 0; rep < config.repeats; rep++) {
      for (const id of cell.servers) {
        let server = running.get(id);
        if (!server) continue;
        if (server.child.exitCode !== null || server.child.signalCode !== null) {
          runs[id]?.push({ ok: false, error: `server had exited: ${server.stderr.join('').slice(0, 300)}` });
          try {
            server = await restart(id);
          } catch (error) {
            runs[id]?.push({ ok: false, error: String(error) });
            continue;
          }
        }
        // Every server quiet first (see waitQuiet): the one measured before must not still be running.
        const settle = await waitQuiet([...running.values()].map((s) => s.pid));
        settling.waits.push(settle.waitedMs);
        if (!settle.quiet) settling.unquiet++;
        const result = await ask({
          op: 'cell',
          port: server.port,
          serverPid: server.pid,
          conns: cell.shape.conns,
          inflight: cell.shape.inflight,
          size: cell.size,
          type: cell.type,
          compress: cell.compress,
          raw: server.spec.kind === 'raw',
          countsIo: server.spec.runtime === 'node',
          warmupMs: config.warmupMs,
          windowMs: config.windowMs,
        }, 90_000);
        runs[id]?.push({ ...result, rep });
      }
    }
    const byServer = Object.fromEntries(
      Object.entries(runs).map(([id, r]) => [id, summarize(r, config.repeats)]),
    );
    results.push({
      key: cell.key,
      family: cell.family,
      size: cell.size,
      type: cell.type,
      compress: cell.compress,
      conns: cell.shape.conns,
      inflight: cell.shape.inflight,
      shape: cell.shape.name,
      servers: byServer,
    });
    const line = cell.servers.map((id) => {
      const m = byServer[id]?.median;
      if (!m || m.msgPerSec === null) return `${id} FAILED`;
      const lat = cell.shape.inflight === 1 ? ` p50 ${(m.p50Us ?? 0).toFixed(0)}µs` : '';
      return `${id} ${Math.round(m.msgPerSec ?? 0)}/s${lat} ${(m.serverCpuUsPerMsg ?? 0).toFixed(1)}µs/msg`;
    }).join(' | ');
    console.log(
      `  ${cell.type}${cell.compress ? '+deflate' : ''} ${fmtSize(cell.size)} ${cell.shape.name}: ${line}`,
    );
  }
  return results;
}

/**
 * @param {ServerSpec[]} specs
 * @param {boolean} compress
 */
async function startAll(specs, compress) {
  /** @type {Map<string, RunningServer>} */
  const running = new Map();
  /** @type {Record<string, Record<string, unknown>>} */
  const infos = {};
  for (const spec of specs) {
    try {
      const server = await startServer(spec, compress);
      running.set(spec.id, server);
      infos[spec.id] = server.info;
    } catch (error) {
      console.log(`  ${spec.id}: could not start: ${error}`);
      infos[spec.id] = { error: String(error) };
    }
  }
  return { running, infos };
}

// ---------------------------------------------------------------------------------------------------------
// Memory: resident bytes per idle connection.

/** @param {RunningServer} server */
async function gcAndRss(server) {
  server.child.kill('SIGUSR2');
  await sleep(800);
  server.child.kill('SIGUSR2');
  await sleep(700);
  return readRss(server.pid);
}

/**
 * Resident bytes per idle connection, `passes` times over all the servers (A B C … A B C …, a fresh server
 * each time): one reading moved by about ±0.5 KiB per connection on Node, with V8's young generation sized
 * by the connection storm (docs/performance-log.md, round 11). Each server's reading is its middle pass, with the
 * median figure; `passes` lists every pass's figure, in order.
 * @param {number} count @param {number} passes
 */
async function memory(count, passes) {
  /** @type {Record<string, any[]>} */
  const readings = {};
  const only = option('--servers')?.split(',');
  const specs = SERVERS.filter((s) => only === undefined || only.includes(s.id));
  for (let pass = 1; pass <= passes; pass++) {
    if (passes > 1) console.log(`  pass ${pass} of ${passes}`);
    for (const spec of specs) (readings[spec.id] ??= []).push(await idleReading(spec, count));
  }
  /** @type {Record<string, any>} */
  const out = {};
  for (const [id, list] of Object.entries(readings)) {
    const measured = list.filter((r) => r.perConnectionBytes != null)
      .sort((a, b) => a.perConnectionBytes - b.perConnectionBytes);
    // The middle pass (the lower of the two middle ones, whose figure is then their mean).
    const chosen = measured[(measured.length - 1) >> 1] ?? list[0];
    const mid = median(measured.map((r) => r.perConnectionBytes));
    out[id] = { ...chosen, perConnectionBytes: mid, passes: list.map((r) => r.perConnectionBytes ?? null) };
  }
  return out;
}

/**
 * One reading of one server: a fresh process, its RSS after a full GC before and with `count` idle
 * connections.
 * @param {import('./lib/servers.mjs').ServerSpec} spec @param {number} count
 */
async function idleReading(spec, count) {
  let server;
  try {
    server = await startServer(spec, false);
    // Warm up the code paths once (one connection, one echo), so the baseline includes loaded code.
    const raw = spec.kind === 'raw';
    await ask({ op: 'idle', port: server.port, count: 10, raw }, 30_000);
    await ask({ op: 'closeIdle' }, 10_000);
    const baseline = await gcAndRss(server);
    const opened = await ask({ op: 'idle', port: server.port, count, raw }, 150_000);
    await sleep(1000);
    const rssNoGc = readRss(server.pid);
    const rss = await gcAndRss(server);
    const n = opened.opened ?? 0;
    const per = n > 0 && rss !== null && baseline !== null ? (rss - baseline) / n : null;
    await ask({ op: 'closeIdle' }, 30_000);
    console.log(
      `  ${spec.id}: ${n} connections, ${per === null ? 'n/a' : (per / KiB).toFixed(2) + ' KiB'} each` +
        ` (RSS ${(Number(baseline) / MiB).toFixed(1)} → ${(Number(rss) / MiB).toFixed(1)} MiB)` +
        (opened.ok ? '' : ` — ${opened.error}`),
    );
    return {
      connections: n,
      error: opened.ok ? null : opened.error,
      baselineRss: baseline,
      rss,
      rssBeforeGc: rssNoGc,
      perConnectionBytes: per,
    };
  } catch (error) {
    console.log(`  ${spec.id}: ${error}`);
    await ask({ op: 'closeIdle' }, 30_000);
    return { error: String(error) };
  } finally {
    if (server) await kill(server.child);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Client side: our dial and other clients against one fixed server.

const CLIENTS = [
  { id: 'sansws-node', label: 'sansws dial (Node)', command: [NODE, 'bench/clients/node-sansws.mjs'] },
  { id: 'ws-node', label: 'ws client + bufferutil (Node)', command: [NODE, 'bench/clients/node-ws.mjs'] },
  {
    id: 'node-builtin',
    label: 'WebSocket, undici (Node, --experimental-websocket)',
    command: [NODE, '--experimental-websocket', '--no-warnings', 'bench/clients/builtin.mjs'],
  },
  { id: 'sansws-bun', label: 'sansws dial (Bun)', command: [BUN, 'bench/clients/bun-sansws.ts'] },
  { id: 'bun-builtin', label: 'WebSocket (Bun)', command: [BUN, 'bench/clients/builtin.mjs'] },
  {
    id: 'sansws-deno',
    label: 'sansws dial (Deno)',
    command: [DENO, 'run', '--allow-net', 'bench/clients/deno-sansws.ts'],
  },
  {
    id: 'deno-builtin',
    label: 'WebSocket (Deno)',
    command: [DENO, 'run', '--allow-net', 'bench/clients/builtin.mjs'],
  },
];

async function clientSide() {
  const spec = /** @type {ServerSpec} */ (SERVERS.find((s) => s.id === 'bun-builtin'));
  const server = await startServer(spec, false);
  const url = `ws://127.0.0.1:${server.port}/`;
  const clientCells = (quick
    ? [
      { size: 16, type: 'binary', inflight: 1 },
      { size: 64 * KiB, type: 'binary', inflight: 64 },
    ]
    : [
      { size: 16, type: 'binary', inflight: 1 },
      { size: 16, type: 'binary', inflight: 64 },
      { size: 1 * KiB, type: 'text', inflight: 64 },
      { size: 64 * KiB, type: 'binary', inflight: 64 },
    ]).map((c) => ({ ...c, warmupMs: config.warmupMs, windowMs: config.clientWindowMs }));
  /** @type {Record<string, any[][]>} */
  const runs = Object.fromEntries(CLIENTS.map((c) => [c.id, []]));
  try {
    for (let rep = 0; rep < config.clientRepeats; rep++) {
      for (const client of CLIENTS) {
        const child = launch(
          [...client.command, url, JSON.stringify(clientCells)],
          LOAD_CORE,
          {},
          false,
        );
        let stdout = '';
        let stderr = '';
        child.stdout?.on('data', (d) => (stdout += String(d)));
        child.stderr?.on('data', (d) => (stderr += String(d)));
        const exited = new Promise((resolve) => child.once('exit', resolve));
        await Promise.race([exited, sleep(60_000)]);
        await kill(child);
        const line = stdout.split('\n').find((l) => l.startsWith('{"results"'));
        if (line) runs[client.id]?.push(JSON.parse(line).results);
        else {runs[client.id]?.push(
            clientCells.map(() => ({ ok: false, error: stderr.slice(0, 300) || 'no output' })),
          );}
      }
    }
  } finally {
    await kill(server.child);
  }
  const out = clientCells.map((cell, i) => {
    /** @type {Record<string, any>} */
    const byClient = {};
    for (const client of CLIENTS) {
      const cellRuns = (runs[client.id] ?? []).map((r) => r[i]).filter((r) => r);
      const ok = cellRuns.filter((r) => r.ok);
      byClient[client.id] = {
        runs: ok.length,
        failures: cellRuns.filter((r) => !r.ok).map((r) => r.error),
        median: {
          msgPerSec: median(ok.map((r) => r.msgPerSec)),
          p50Us: median(ok.map((r) => r.p50Us).filter((v) => v !== null)),
          p99Us: median(ok.map((r) => r.p99Us).filter((v) => v !== null)),
          clientCpuUsPerMsg: median(ok.map((r) => r.clientCpuUsPerMsg).filter((v) => v !== null)),
          clientCpuPct: median(ok.map((r) => r.clientCpuPct)),
        },
      };
    }
    return { ...cell, clients: byClient };
  });
  for (const cell of out) {
    console.log(
      `  ${cell.type} ${fmtSize(cell.size)} ×${cell.inflight}: ` + CLIENTS.map((c) => {
        const m = cell.clients[c.id].median;
        return m.msgPerSec === null ? `${c.id} FAILED` : `${c.id} ${Math.round(m.msgPerSec)}/s`;
      }).join(' | '),
    );
  }
  return {
    server: spec.label,
    serverInfo: server.info,
    clients: Object.fromEntries(CLIENTS.map((c) => [c.id, c.label])),
    cells: out,
  };
}

// ---------------------------------------------------------------------------------------------------------

function machine() {
  /** @param {string[]} command */
  const version = (command) => {
    try {
      return execFileSync(command[0] ?? '', command.slice(1), { encoding: 'utf8' }).split('\n')[0]?.trim();
    } catch {
      return 'unavailable';
    }
  };
  return {
    nproc: cores,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    bun: version([BUN, '--version']),
    deno: version([DENO, '--version']),
    pinned: CAN_PIN ? `servers on core ${SERVER_CORE}, load on core ${LOAD_CORE} (taskset)` : 'not pinned',
    fdLimit,
    allocatorEnv: allocatorSettings(),
    clockTickMs: TICK_MS,
    commit: version(['git', 'rev-parse', '--short', 'HEAD']),
    // Library sources that differ from the commit when the run started (the servers run what is built).
    uncommitted: (() => {
      try {
        return execFileSync('git', ['status', '--porcelain', '--', 'packages', 'adapters'], {
          cwd: root,
          encoding: 'utf8',
        })
          .split('\n').filter((l) => l.trim() !== '').map((l) => l.slice(3));
      } catch {
        return [];
      }
    })(),
  };
}

async function main() {
  const started = Date.now();
  const info = machine();
  console.log(
    `sansws server benchmark (${quick ? 'quick' : 'full'}): ${info.nproc} × ${info.cpu}, ` +
      `Node ${info.node}, Bun ${info.bun}, ${info.deno}; ${info.pinned}`,
  );
  console.log(
    `  ${config.repeats} repeats per cell, servers interleaved, median reported; ` +
      `${config.warmupMs} ms warm-up + ${config.windowMs} ms window per run, ` +
      `after ${config.serverWarmupMs} ms un-recorded windows of three kinds of traffic per fresh server`,
  );
  const list = cells();

  console.log('Echo, compression off:');
  const used = new Set(list.flatMap((c) => c.servers));
  const plainSpecs = SERVERS.filter((s) =>
    used.has(s.id) && list.some((c) => !c.compress && c.servers.includes(s.id))
  );
  const plain = await startAll(plainSpecs, false);
  /** @type {any[]} */
  let results = [];
  try {
    await warmServers(plain.running, false);
    results = await runCells(list.filter((c) => !c.compress), plain.running, async (id) => {
      const spec = /** @type {ServerSpec} */ (SERVERS.find((s) => s.id === id));
      const server = await startServer(spec, false);
      plain.running.set(id, server);
      return server;
    });
  } finally {
    for (const server of plain.running.values()) await kill(server.child);
  }

  console.log('Echo, permessage-deflate (servers that have it):');
  const deflateSpecs = SERVERS.filter((s) => list.some((c) => c.compress && c.servers.includes(s.id)));
  const deflate = await startAll(deflateSpecs, true);
  try {
    await warmServers(deflate.running, true);
    results = results.concat(
      await runCells(list.filter((c) => c.compress), deflate.running, async (id) => {
        const spec = /** @type {ServerSpec} */ (SERVERS.find((s) => s.id === id));
        const server = await startServer(spec, true);
        deflate.running.set(id, server);
        return server;
      }),
    );
  } finally {
    for (const server of deflate.running.values()) await kill(server.child);
  }

  const settled = {
    windows: settling.waits.length,
    quietMs: QUIET_MS,
    maxWaitMs: QUIET_MAX_MS,
    medianMs: median(settling.waits),
    maxMs: settling.waits.length > 0 ? Math.max(...settling.waits) : null,
    totalMs: settling.waits.reduce((a, b) => a + b, 0),
    notQuiet: settling.unquiet,
  };
  if (settled.windows > 0) console.log(`Windows: ${describeSettling(settled)}`);
  /** @type {Record<string, any>} */
  let mem = {};
  if (!argv.includes('--skip-memory')) {
    console.log(`Memory: ${config.idleConnections} idle connections per server (after a full GC):`);
    mem = await memory(config.idleConnections, config.memoryPasses);
  }
  /** @type {any} */
  let clients = null;
  if (!argv.includes('--skip-clients')) {
    console.log('Clients against Bun.serve (pinned to core 0; clients on core 1):');
    clients = await clientSide();
  }

  const data = {
    mode: quick ? 'quick' : 'full',
    date: new Date().toISOString(),
    durationSeconds: Math.round((Date.now() - started) / 1000),
    machine: info,
    config: { ...config, binaryShapes: undefined, textShapes: undefined, compressShapes: undefined },
    servers: Object.fromEntries(
      SERVERS.map((s) => [s.id, {
        label: s.label,
        runtime: s.runtime,
        kind: s.kind,
        info: plain.infos[s.id],
        deflateInfo: deflate.infos[s.id] ?? null,
      }]),
    ),
    cells: results,
    settling: settled,
    memory: { connections: config.idleConnections, servers: mem },
    clients,
  };
  const verdicts = evaluate(data);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    path.join(outDir, 'results.json'),
    JSON.stringify({ ...data, targets: verdicts }, null, 2) + '\n',
  );
  const charts = renderCharts(data);
  for (const [name, svg] of Object.entries(charts)) writeFileSync(path.join(outDir, name), svg);
  const report = renderReport(data, verdicts, Object.keys(charts));
  writeFileSync(path.join(outDir, 'report.md'), report.markdown);
  try {
    execFileSync(
      DENO,
      [
        'fmt',
        '--quiet',
        ...['report.md', 'results.json', ...Object.keys(charts)].map((f) => path.join(outDir, f)),
      ],
      {
        cwd: root,
        stdio: 'ignore',
      },
    );
  } catch {
    // formatting is cosmetic
  }
  console.log('');
  console.log(report.summary);
  console.log(
    `Done in ${data.durationSeconds} s; wrote ${
      path.relative(root, outDir) || '.'
    }/report.md, results.json and ${Object.keys(charts).length} charts.`,
  );
}

/** Runs the workspaces' own benchmarks (`npm run bench --workspaces --if-present`), bounded in time. */
async function workspaces() {
  console.log('\nWorkspace benchmarks (npm run bench --workspaces --if-present):');
  const child = spawn('npm', ['run', 'bench', '--workspaces', '--if-present'], {
    cwd: root,
    stdio: 'inherit',
  });
  children.add(child);
  const code = await Promise.race([
    new Promise((resolve) => child.once('exit', resolve)),
    sleep(20 * 60_000).then(() => 'timeout'),
  ]);
  await kill(child);
  return code === 0 ? 0 : 1;
}

let exitCode = 0;
try {
  await main();
  if (!quick && !argv.includes('--no-workspaces')) exitCode = await workspaces();
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  load.send?.({ op: 'exit' });
  await kill(load);
  for (const child of [...children]) await kill(child);
}
process.exit(exitCode);
