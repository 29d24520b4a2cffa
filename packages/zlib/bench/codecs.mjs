// Codec comparison for permessage-deflate: a 64 KiB JSON message compressed with a sync flush on a context
// that is kept across messages (RFC 7692 context takeover), then inflated on a kept context, round trip
// checked: this package's codec against minizlib (which it used before driving node:zlib's handle itself),
// pako and fflate. Build first (npx tsc -b), then run under each runtime:
//   node packages/zlib/bench/codecs.mjs
//   node_modules/.bin/bun packages/zlib/bench/codecs.mjs
//   node_modules/.bin/deno run -A packages/zlib/bench/codecs.mjs
import { Buffer } from 'node:buffer';
import zlib from 'node:zlib';
import * as mz from 'minizlib';
import * as pako from 'pako';
import * as fflate from 'fflate';
import { zlibCodec } from '../dist/mod.js';

const runtime = typeof Bun !== 'undefined'
  ? `bun ${Bun.version}`
  : typeof Deno !== 'undefined'
  ? `deno ${Deno.version.deno}`
  : `node ${process.version}`;
const SYNC = zlib.constants.Z_SYNC_FLUSH;
const TRAILER = new Uint8Array([0, 0, 0xff, 0xff]);

/** Deterministic pseudo-random JSON of about `size` bytes; `seed` varies the values between messages. */
function jsonMessage(size, seed) {
  let x = seed * 2654435761 >>> 0;
  const rnd = () => (x = (x * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet'];
  const items = [];
  let length = 2;
  while (length < size) {
    const item = {
      id: Math.floor(rnd() * 1e9),
      name: `${words[Math.floor(rnd() * 10)]}-${words[Math.floor(rnd() * 10)]}`,
      price: Math.round(rnd() * 1e6) / 100,
      tags: [words[Math.floor(rnd() * 10)], words[Math.floor(rnd() * 10)]],
      active: rnd() > 0.5,
    };
    const s = JSON.stringify(item);
    length += s.length + 1;
    items.push(item);
  }
  return new TextEncoder().encode(JSON.stringify(items).slice(0, size));
}

function concat(chunks) {
  if (chunks.length === 1) return chunks[0];
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
const withTrailer = (data) => concat([data, TRAILER]);

const codecs = {
  '@sansws/zlib'() {
    const d = zlibCodec.createDeflater({ windowBits: 15, level: 6, memLevel: 8 });
    const i = zlibCodec.createInflater({ windowBits: 15 });
    const ic = [];
    const onData = (c) => ic.push(c);
    return {
      compress(m) {
        const out = d.deflate(m);
        return out.subarray(0, out.length - 4);
      },
      decompress(c) {
        if (i.inflate(withTrailer(c), Infinity, onData) !== 'ok') throw new Error('inflate failed');
        return concat(ic.splice(0));
      },
    };
  },
  minizlib() {
    const d = new mz.DeflateRaw({ flush: SYNC });
    const i = new mz.InflateRaw({ flush: SYNC });
    const dc = [];
    const ic = [];
    d.on('data', (c) => dc.push(c));
    i.on('data', (c) => ic.push(c));
    return {
      compress(m) {
        d.write(Buffer.from(m.buffer, m.byteOffset, m.byteLength));
        const out = concat(dc.splice(0));
        return out.subarray(0, out.length - 4);
      },
      decompress(c) {
        i.write(Buffer.from(withTrailer(c)));
        return concat(ic.splice(0));
      },
    };
  },
  pako() {
    const d = new pako.Deflate({ raw: true });
    const i = new pako.Inflate({ raw: true });
    return {
      compress(m) {
        d.chunks = [];
        d.push(m, pako.Z_SYNC_FLUSH);
        const out = concat(d.chunks);
        return out.subarray(0, out.length - 4);
      },
      decompress(c) {
        i.chunks = [];
        i.push(withTrailer(c), pako.Z_SYNC_FLUSH);
        return concat(i.chunks);
      },
    };
  },
  fflate() {
    const dc = [];
    const ic = [];
    const d = new fflate.Deflate({ level: 6 }, (c) => dc.push(c));
    const i = new fflate.Inflate((c) => ic.push(c));
    return {
      compress(m) {
        d.push(m);
        d.flush(true);
        const out = concat(dc.splice(0));
        return out.subarray(0, out.length - 4);
      },
      decompress(c) {
        i.push(withTrailer(c));
        return concat(ic.splice(0));
      },
    };
  },
  // Reference only: one-shot calls cannot keep a context between messages (no context takeover).
  'node:zlib sync one-shot (no context)'() {
    return {
      compress(m) {
        const out = zlib.deflateRawSync(m, { finishFlush: SYNC });
        return out.subarray(0, out.length - 4);
      },
      decompress(c) {
        return zlib.inflateRawSync(withTrailer(c), { finishFlush: SYNC });
      },
    };
  },
};

// Does node:zlib's own synchronous path keep a context? _processChunk closes the handle after one call.
function nodeZlibKeepsContext() {
  const d = zlib.createDeflateRaw();
  try {
    d._processChunk(Buffer.from('a'), SYNC);
    d._processChunk(Buffer.from('a'), SYNC);
    return 'yes';
  } catch (e) {
    return `no (${e.message})`;
  }
}

function bench(size, count, rounds) {
  const messages = Array.from({ length: count }, (_, k) => jsonMessage(size, k + 1));
  console.log(`${runtime}: ${count} distinct ${size}-byte JSON messages, round trip on kept contexts`);
  for (const [name, make] of Object.entries(codecs)) {
    const run = (rounds) => {
      const codec = make();
      let compressed = 0;
      for (let r = 0; r < rounds; r++) {
        for (const [k, m] of messages.entries()) {
          const c = codec.compress(m);
          compressed += c.length;
          const back = codec.decompress(c);
          if (back.length !== m.length || back.some((b, j) => b !== m[j])) {
            throw new Error(`round trip mismatch at message ${r * count + k + 1}`);
          }
        }
      }
      return compressed;
    };
    try {
      run(1); // warm-up, and a correctness check over `count` messages on one context
      const t0 = performance.now();
      const compressed = run(rounds);
      const ms = performance.now() - t0;
      const perMessage = ms / (rounds * count);
      const ratio = (rounds * count * size) / compressed;
      console.log(
        `  ${name.padEnd(38)} ${(perMessage * 1000).toFixed(1).padStart(8)} µs/round trip  ` +
          `${((size / 1024 / 1024) / (perMessage / 1000)).toFixed(0).padStart(5)} MiB/s  ratio ${
            ratio.toFixed(2)
          }`,
      );
    } catch (e) {
      console.log(`  ${name.padEnd(38)} FAILED: ${e.message}`);
    }
  }
}

console.log(`node:zlib _processChunk keeps a context across calls: ${nodeZlibKeepsContext()}`);
bench(64 * 1024, 64, 3);
bench(512, 2000, 3);
bench(16, 2000, 10);
