// Memory held per connection by permessage-deflate state (one deflater + one inflater of @sansws/zlib, and
// of minizlib, which it used before, as the baseline), for each window-bits / memLevel setting, after one
// message each way so that zlib's lazily allocated windows exist. 1000 pairs per setting, each setting in
// a fresh process (build first: npx tsc -b):
//   node --expose-gc packages/zlib/bench/memory.mjs
//   node_modules/.bin/bun packages/zlib/bench/memory.mjs
//   node_modules/.bin/deno run -A --v8-flags=--expose-gc packages/zlib/bench/memory.mjs
import { Buffer } from 'node:buffer';
import { execFileSync } from 'node:child_process';
import process from 'node:process';
import zlib from 'node:zlib';
import * as mz from 'minizlib';
import { createZlibCodec } from '../dist/mod.js';

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

/** A deflater and an inflater of one library, each fed one message. */
const libraries = {
  '@sansws/zlib': (windowBits, memLevel, chunkSize) => {
    const codec = createZlibCodec({ chunkSize });
    return {
      deflater(message) {
        const d = codec.createDeflater({ windowBits, level: 6, memLevel });
        d.deflate(message);
        return d;
      },
      inflater(compressed) {
        const f = codec.createInflater({ windowBits });
        f.inflate(compressed, Infinity, () => {});
        return f;
      },
    };
  },
  minizlib: (windowBits, memLevel, chunkSize) => ({
    deflater(message) {
      const d = new mz.DeflateRaw({ flush: SYNC, windowBits, memLevel, chunkSize });
      d.on('data', () => {});
      d.write(message);
      return d;
    },
    inflater(compressed) {
      const f = new mz.InflateRaw({ flush: SYNC, windowBits, chunkSize });
      f.on('data', () => {});
      f.write(compressed);
      return f;
    },
  }),
};

async function measure(library, windowBits, memLevel, which, chunkSize) {
  const make = libraries[library](windowBits, memLevel, chunkSize);
  const message = Buffer.from(JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ i, n: `name${i}` }))));
  const compressed = zlib.deflateRawSync(message, { finishFlush: SYNC, windowBits });
  await settle();
  const before = process.memoryUsage();
  const keep = [];
  for (let i = 0; i < N; i++) {
    if (which !== 'inflater') keep.push(make.deflater(message));
    if (which !== 'deflater') keep.push(make.inflater(compressed));
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
  const [library, w, m, which, chunk] = args;
  await measure(library, Number(w), Number(m), which, Number(chunk));
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
  console.log(
    'library       windowBits memLevel chunkSize | deflater rss | inflater rss | pair rss (heap, external)',
  );
  for (const [w, m, what] of settings) {
    for (const [library, chunk] of [['@sansws/zlib', 16384], ['minizlib', 16384], ['minizlib', 4096]]) {
      const one = (which) =>
        JSON.parse(
          execFileSync(process.execPath, [...argv, '--one', library, w, m, which, chunk], {
            encoding: 'utf8',
          }),
        );
      const d = one('deflater');
      const i = one('inflater');
      const p = one('pair');
      console.log(
        `${library.padEnd(13)} ${String(w).padStart(10)} ${String(m).padStart(8)} ${
          String(chunk).padStart(9)
        } | ` +
          `${d.rss.padStart(12)} | ${i.rss.padStart(12)} | ${
            p.rss.padStart(8)
          } (${p.heap}, ${p.external})  ${what}`,
      );
    }
  }
}
