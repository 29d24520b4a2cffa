// Memory held per connection by permessage-deflate state (one deflater + one inflater of minizlib, as
// @sansws/zlib creates them), for each window-bits / memLevel setting, after one message each way so that
// zlib's lazily allocated windows exist. 1000 pairs per setting, each setting in a fresh process:
//   node --expose-gc packages/zlib/bench/memory.mjs
//   node_modules/.bin/bun packages/zlib/bench/memory.mjs
//   node_modules/.bin/deno run -A --v8-flags=--expose-gc packages/zlib/bench/memory.mjs
import { Buffer } from 'node:buffer';
import { execFileSync } from 'node:child_process';
import process from 'node:process';
import zlib from 'node:zlib';
import * as mz from 'minizlib';

const SYNC = zlib.constants.Z_SYNC_FLUSH;
const N = 1000;
const settings = [
  // [windowBits, memLevel, what]
  [15, 8, 'zlib defaults (ws default)'],
  [15, 9, ''],
  [12, 5, 'python-websockets default'],
  [12, 8, ''],
  [10, 4, ''],
  [9, 1, 'smallest zlib honours'],
];

async function settle() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.();
    await new Promise((r) => setTimeout(r, 20));
  }
  // Bun: force a full collection as well.
  globalThis.Bun?.gc(true);
}

async function measure(windowBits, memLevel, which, chunkSize) {
  const message = Buffer.from(JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ i, n: `name${i}` }))));
  const compressed = zlib.deflateRawSync(message, { finishFlush: SYNC, windowBits });
  await settle();
  const before = process.memoryUsage();
  const keep = [];
  for (let i = 0; i < N; i++) {
    if (which !== 'inflater') {
      const d = new mz.DeflateRaw({ flush: SYNC, windowBits, memLevel, chunkSize });
      d.on('data', () => {});
      d.write(message);
      keep.push(d);
    }
    if (which !== 'deflater') {
      const f = new mz.InflateRaw({ flush: SYNC, windowBits, chunkSize });
      f.on('data', () => {});
      f.write(compressed);
      keep.push(f);
    }
  }
  await settle();
  const after = process.memoryUsage();
  const kib = (k) => ((after[k] - before[k]) / N / 1024).toFixed(1);
  console.log(
    JSON.stringify({ rss: kib('rss'), heap: kib('heapUsed'), external: kib('external'), n: keep.length }),
  );
}

const [, , child, ...args] = process.argv;
if (child === '--one') {
  const [w, m, which, chunk] = args;
  await measure(Number(w), Number(m), which, Number(chunk));
} else {
  const runtime = typeof Bun !== 'undefined'
    ? `bun ${Bun.version}`
    : typeof Deno !== 'undefined'
    ? `deno ${Deno.version.deno}`
    : `node ${process.version}`;
  const self = new URL(import.meta.url).pathname;
  const argv = typeof Deno !== 'undefined'
    ? ['run', '-A', '--v8-flags=--expose-gc', self]
    : typeof Bun !== 'undefined'
    ? [self]
    : ['--expose-gc', self];
  console.log(`${runtime}: KiB per connection (${N} instances per setting, fresh process each)`);
  console.log('windowBits memLevel chunkSize | deflater rss | inflater rss | pair rss (heap, external)');
  for (const [w, m, what] of settings) {
    for (const chunk of [16384, 4096]) {
      const one = (which) =>
        JSON.parse(
          execFileSync(process.execPath, [...argv, '--one', w, m, which, chunk], { encoding: 'utf8' }),
        );
      const d = one('deflater');
      const i = one('inflater');
      const p = one('pair');
      console.log(
        `${String(w).padStart(10)} ${String(m).padStart(8)} ${String(chunk).padStart(9)} | ` +
          `${d.rss.padStart(12)} | ${i.rss.padStart(12)} | ${
            p.rss.padStart(8)
          } (${p.heap}, ${p.external})  ${what}`,
      );
    }
  }
}
