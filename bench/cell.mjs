// @ts-check
/**
 * One cell against one or more echo servers, each run in a fresh server process, for longer windows than
 * the matrix uses: to look into one cell (page faults, an allocator setting, a change) without the whole
 * harness. The server is pinned to core 0 and the load generator (`bench/lib/load.mjs`) to core 1 when
 * `taskset` and two cores are there, as in `bench/run.mjs`; servers alternate run by run (A B A B …).
 *
 *   node bench/cell.mjs --servers sansws-bun,bun-builtin [--size 65536] [--conns 100] [--inflight 8]
 *                       [--type binary|text] [--compress] [--seconds 3 (≤ 60)] [--runs 3 (≤ 20)]
 *
 * Servers inherit this process's environment, so `MIMALLOC_PURGE_DELAY=1000 node bench/cell.mjs …` runs
 * them all with that setting; `--servers sansws-bun-handler,sansws-bun-handler+BENCH_FRAGMENT_LONG_TEXT=1`
 * runs one of them with more environment, beside the default, interleaved. Prints one line per run: echoes
 * per second, the server's CPU time, minor page faults and (Node servers) read and write system calls per
 * echo, the load generator's CPU share and page faults per echo, the server's RSS; then the median per server.
 *
 * @module
 */

import { fork, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cellOptions, option } from './lib/args.mjs';
import { allocatorSettings, CAN_PIN, LOAD_CORE, SERVER_CORE, SERVERS } from './lib/servers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const ids = option('--servers', 'sansws-node').split(',');
const { size, conns, inflight, type, compress, seconds } = cellOptions({
  size: '65536',
  inflight: '64',
  seconds: '3',
});
const runs = Math.min(Number(option('--runs', '3')), 20);
const specs = ids.map((id) => {
  // `ID+NAME=VALUE+…`: that server with more environment, to compare a setting with the default in one run.
  const [base = '', ...settings] = id.split('+');
  const spec = SERVERS.find((s) => s.id === base);
  if (!spec) throw new Error(`unknown server ${base}; one of ${SERVERS.map((s) => s.id).join(', ')}`);
  const env = Object.fromEntries(settings.map((setting) => {
    const at = setting.indexOf('=');
    if (at <= 0) throw new Error(`${id}: expected ID+NAME=VALUE`);
    return [setting.slice(0, at), setting.slice(at + 1)];
  }));
  return settings.length === 0 ? spec : { ...spec, id, env: { ...spec.env, ...env } };
});
/** @param {string} core @param {string[]} command */
const onCore = (core, command) => (CAN_PIN ? ['taskset', '-c', core, ...command] : command);

/**
 * @param {import('./lib/servers.mjs').ServerSpec} spec
 * @returns {Promise<any>}
 */
async function runOnce(spec) {
  const [file, ...args] = onCore(SERVER_CORE, compress ? [...spec.command, '--compress'] : spec.command);
  const server = spawn(file ?? '', args, {
    cwd: root,
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const load = fork(
    path.join(here, 'lib', 'load.mjs'),
    [],
    CAN_PIN ? { execPath: 'taskset', execArgv: ['-c', LOAD_CORE, process.execPath] } : {},
  );
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  try {
    const ready = await Promise.race([
      new Promise((resolve) => {
        let buffered = '';
        server.stdout?.on('data', (d) => {
          buffered += String(d);
          const line = buffered.split('\n').find((l) => l.includes('"ready"'));
          if (line) resolve(JSON.parse(line));
        });
      }),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${spec.id} did not start`)), 20_000);
      }),
    ]);
    clearTimeout(timer);
    return await Promise.race([
      new Promise((resolve) => {
        load.once('message', (/** @type {any} */ m) => resolve(m.result));
        load.send({
          id: 1,
          op: 'cell',
          port: /** @type {any} */ (ready).port,
          serverPid: server.pid,
          conns,
          inflight,
          size,
          type,
          compress,
          raw: spec.kind === 'raw',
          countsIo: spec.runtime === 'node',
          warmupMs: 300,
          windowMs: seconds * 1000,
        });
      }),
      new Promise((resolve) => {
        timer = setTimeout(() => resolve({ ok: false, error: 'timed out' }), seconds * 1000 + 60_000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    server.kill('SIGKILL');
    load.kill('SIGKILL');
  }
}

/** @param {number[]} values */
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] ?? NaN : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
};
/** @param {number | null | undefined} v @param {number} digits */
const fixed = (v, digits) => (typeof v === 'number' ? v.toFixed(digits) : '–');

const allocator = allocatorSettings();
/**
 * The round trip's p50 and p99 where the load measured them (one message in flight), else nothing.
 * @param {{ p50Us?: number | null, p99Us?: number | null }} r
 */
const latency = (r) =>
  Number.isFinite(r.p50Us) && Number.isFinite(r.p99Us)
    ? ` (p50 ${fixed(r.p50Us, 0)} µs, p99 ${fixed(r.p99Us, 0)} µs)`
    : '';

console.log(
  `${type} ${size} B, ${conns}×${inflight}${compress ? ', deflate' : ''}, ${seconds} s windows, ` +
    `${CAN_PIN ? `server on core ${SERVER_CORE}, load on core ${LOAD_CORE}` : 'not pinned'}` +
    (allocator.length > 0 ? `; ${allocator.join(' ')}` : ''),
);
/** @type {Map<string, any[]>} */
const results = new Map(ids.map((id) => [id, []]));
for (let run = 1; run <= runs; run++) {
  for (const spec of specs) {
    const r = await runOnce(spec);
    if (!r.ok) {
      console.log(`run ${run} ${spec.id}: failed: ${r.error}`);
      continue;
    }
    results.get(spec.id)?.push(r);
    console.log(
      `run ${run} ${spec.id.padEnd(12)} ${fixed(r.msgPerSec, 0)} msg/s${latency(r)}, server ${
        fixed(r.serverCpuUsPerMsg, r.serverCpuUsPerMsg < 10 ? 3 : 1)
      } µs/msg, ${fixed(r.serverFaultsPerMsg, 2)} faults/msg, ${fixed(r.serverReadsPerMsg, 2)} reads and ${
        fixed(r.serverWritesPerMsg, 2)
      } writes/msg, RSS ${fixed(r.serverRssBytes / 2 ** 20, 0)} MiB; ` +
        `load ${fixed(r.loadCpuPct, 0)}% CPU, ${fixed(r.loadFaultsPerMsg, 2)} faults/msg`,
    );
  }
}
for (const [id, list] of results) {
  if (list.length === 0) continue;
  /** @param {string} key */
  const m = (key) => {
    const values = list.map((r) => r[key]).filter((v) => typeof v === 'number');
    return values.length > 0 ? median(values) : null;
  };
  console.log(
    `median ${id.padEnd(12)} ${fixed(m('msgPerSec'), 0)} msg/s${
      latency({ p50Us: m('p50Us'), p99Us: m('p99Us') })
    }, ${fixed(m('serverCpuUsPerMsg'), (m('serverCpuUsPerMsg') ?? 0) < 10 ? 3 : 1)} µs/msg, ` +
      `${fixed(m('serverFaultsPerMsg'), 2)} faults/msg, ${fixed(m('serverReadsPerMsg'), 2)} reads and ` +
      `${fixed(m('serverWritesPerMsg'), 2)} writes/msg (${list.length} runs)`,
  );
}
