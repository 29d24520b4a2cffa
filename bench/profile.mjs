// @ts-check
/**
 * Profiles one Node or Bun echo server under one cell of load: runs it with `node --cpu-prof` or
 * `bun --cpu-prof` (pinned like the harness does), drives it with the load generator, stops it, and prints where its CPU time went — the
 * functions with the most self time, and the same grouped by where the code lives.
 *
 *   node bench/profile.mjs [--server sansws-node|sansws-node-handler|ws-node|ws-node-js|raw-node|sansws-bun|
 *                                   sansws-bun-handler|bun-builtin|raw-bun]
 *                          [--size N] [--conns N]
 *                          [--inflight N] [--type binary|text] [--compress] [--seconds N]
 *
 * The .cpuprofile is kept in bench/results/profiles/ (gitignored) for Chrome DevTools.
 *
 * @module
 */

import { fork, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cellOptions, option } from './lib/args.mjs';
import { BUN } from './lib/servers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const server = option('--server', 'sansws-node');
const { size, conns, inflight, type, compress, seconds } = cellOptions({
  size: '16',
  inflight: '64',
  seconds: '5',
});
/** @type {Record<string, { file: string, args?: string[], runtime?: 'bun', env?: Record<string, string> }>} */
const SERVERS = {
  'sansws-node': { file: 'bench/servers/node-sansws.mjs' },
  'sansws-node-handler': { file: 'bench/servers/node-sansws.mjs', args: ['--handler'] },
  'ws-node': { file: 'bench/servers/node-ws.mjs' },
  'ws-node-js': {
    file: 'bench/servers/node-ws.mjs',
    env: { WS_NO_BUFFER_UTIL: '1', WS_NO_UTF_8_VALIDATE: '1' },
  },
  'raw-node': { file: 'bench/servers/node-raw.mjs' },
  // Bun writes a profile in the same format (`bun --cpu-prof`), sampled every 100 µs here.
  'sansws-bun': { file: 'bench/servers/bun-sansws.ts', runtime: 'bun' },
  'sansws-bun-handler': { file: 'bench/servers/bun-sansws.ts', args: ['--handler'], runtime: 'bun' },
  'bun-builtin': { file: 'bench/servers/bun-builtin.ts', runtime: 'bun' },
  'raw-bun': { file: 'bench/servers/bun-raw.ts', runtime: 'bun' },
};
const spec = SERVERS[server];
if (!spec) throw new Error(`--server must be one of ${Object.keys(SERVERS).join(', ')}`);
const dir = path.join(
  here,
  'results',
  'profiles',
  `${server}-${type}-${size}-${conns}x${inflight}${compress ? '-deflate' : ''}`,
);
mkdirSync(dir, { recursive: true });

const child = spawn(
  'taskset',
  [
    '-c',
    '0',
    spec.runtime === 'bun' ? BUN : process.execPath,
    '--cpu-prof',
    `--cpu-prof-dir=${dir}`,
    ...(spec.runtime === 'bun' ? ['--cpu-prof-interval=100'] : []),
    spec.file,
    ...(spec.args ?? []),
    ...(compress ? ['--compress'] : []),
  ],
  { cwd: root, env: { ...process.env, ...spec.env }, stdio: ['ignore', 'pipe', 'inherit'] },
);
const load = fork(path.join(here, 'lib', 'load.mjs'), [], {
  execPath: 'taskset',
  execArgv: ['-c', '1', process.execPath],
});
const stop = () => {
  child.kill('SIGKILL');
  load.kill('SIGKILL');
};
process.on('exit', stop);
try {
  /** @type {{ port: number }} */
  const ready = await Promise.race([
    new Promise((resolve) =>
      child.stdout?.once('data', (d) => resolve(JSON.parse(String(d).split('\n')[0] ?? '')))
    ),
    new Promise((_, reject) => setTimeout(() => reject(new Error('server did not start')), 20_000)),
  ]);
  const result = await Promise.race([
    new Promise((resolve) => {
      load.once('message', (/** @type {any} */ m) => resolve(m.result));
      load.send({
        id: 1,
        op: 'cell',
        port: ready.port,
        serverPid: child.pid,
        conns,
        inflight,
        size,
        type,
        compress,
        raw: server.startsWith('raw-'),
        warmupMs: 300,
        windowMs: seconds * 1000,
      });
    }),
    new Promise((resolve) =>
      setTimeout(() => resolve({ ok: false, error: 'timed out' }), seconds * 1000 + 60_000)
    ),
  ]);
  console.log(
    `${server}, ${type} ${size} B, ${conns}×${inflight}${compress ? ', deflate' : ''}:`,
    JSON.stringify(result),
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM'); // the servers exit(0) on SIGTERM, so the profile is written
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
} finally {
  stop();
}

const file = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort().pop();
if (!file) throw new Error('no profile written');
/** @type {{ nodes: { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, hitCount?: number }[], samples: number[], timeDeltas: number[] }} */
const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
/** @type {Map<number, number>} self time (µs) per node id */
const self = new Map();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
let total = 0;
/** @type {Map<string, number>} */
const byFunction = new Map();
/** @type {Map<string, number>} */
const byPlace = new Map();
for (const node of profile.nodes) {
  const t = self.get(node.id) ?? 0;
  const { functionName, url, lineNumber } = node.callFrame;
  if (functionName === '(idle)' || functionName === '(program)') continue;
  total += t;
  const where = url.replace(/^file:\/\//, '').replace(root + '/', '');
  const key = `${functionName || '(anonymous)'} ${where ? `${where}:${lineNumber + 1}` : ''}`.trim();
  byFunction.set(key, (byFunction.get(key) ?? 0) + t);
  const place = functionName === '(garbage collector)'
    ? 'garbage collector'
    : where.includes('packages/core/')
    ? '@sansws/core'
    : where.includes('packages/conn/')
    ? '@sansws/conn'
    : where.includes('packages/zlib/')
    ? '@sansws/zlib'
    : where.includes('adapters/node/')
    ? '@sansws/node'
    : where.includes('adapters/bun/')
    ? '@sansws/bun'
    : where.includes('node_modules/ws/')
    ? 'ws'
    : where.startsWith('node:')
    ? 'Node internals (JS)'
    : where === ''
    ? 'native / runtime (no JS frame)'
    : where;
  byPlace.set(place, (byPlace.get(place) ?? 0) + t);
}
/**
 * @param {Map<string, number>} map
 * @param {number} n
 */
const top = (map, n) =>
  [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) =>
    `  ${((v / total) * 100).toFixed(1).padStart(5)}%  ${k}`
  ).join('\n');
console.log(`Busy time sampled: ${(total / 1000).toFixed(0)} ms (idle excluded). By place:`);
console.log(top(byPlace, 12));
console.log('Top functions by self time:');
console.log(top(byFunction, 25));
console.log(`Profile: ${path.relative(root, path.join(dir, file))}`);
