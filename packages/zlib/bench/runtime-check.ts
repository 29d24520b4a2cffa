// Checks, under the runtime that runs it, the properties @sansws/zlib relies on from node:zlib:
//   node_modules/.bin/bun packages/zlib/bench/runtime-check.ts
//   node_modules/.bin/deno run -A packages/zlib/bench/runtime-check.ts
// (Node runs the same checks through vitest: test/zlib.test.ts and test/window8.test.ts.)
import { deflateRawSync } from 'node:zlib';
import { createZlibCodec, zlibCodec } from '../src/mod.ts';
import { StrictInflater } from '../test/strict-inflate.ts';

declare const Bun: { version: string } | undefined;
declare const Deno: { version: { deno: string } } | undefined;
const runtime = typeof Bun !== 'undefined'
  ? `bun ${Bun.version}`
  : typeof Deno !== 'undefined'
  ? `deno ${Deno.version.deno}`
  : `node ${process.version}`;

function check(name: string, ok: boolean, detail = ''): void {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` (${detail})` : ''}`);
  if (!ok) process.exitCode = 1;
}

console.log(`${runtime}, zlib ${process.versions.zlib}`);

// Context takeover: the second identical message refers back to the first.
{
  const d = zlibCodec.createDeflater({ windowBits: 15, level: 6, memLevel: 8 });
  const m = new TextEncoder().encode(
    JSON.stringify(Array.from({ length: 100 }, (_, i) => ({ i, n: `x${i}` }))),
  );
  const a = d.deflate(m).length;
  const b = d.deflate(m).length;
  check('deflater keeps its context between calls', b < a / 10, `${a} then ${b} bytes`);
}

// Bounded inflation.
const bomb = deflateRawSync(new Uint8Array(64 * 1024 * 1024), { level: 9 });
for (
  const [name, codec] of [['native', zlibCodec], [
    'portable',
    createZlibCodec({ portableBound: true }),
  ]] as const
) {
  const i = codec.createInflater({ windowBits: 15 });
  let delivered = 0;
  const status = i.inflate(bomb, 1024 * 1024, (c) => (delivered += c.length));
  check(
    `${name} bound: 64 MiB bomb against 1 MiB is too-big, ≤ 1 MiB delivered`,
    status === 'too-big' && delivered <= 1024 * 1024,
    `${status}, ${delivered} bytes, nativeBound=${i.nativeBound}`,
  );
}

// End of a BFINAL stream (RFC 7692 §7.2.3.4) is reported.
{
  const i = zlibCodec.createInflater({ windowBits: 15 });
  const status = i.inflate(
    Uint8Array.of(0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff),
    100,
    () => {},
  );
  check('BFINAL end is reported', status === 'end', status);
}

// 8-bit windows: zlib's "8 as 9" streams fit a strict 256-byte window.
{
  let x = 7;
  const rnd = () => (x = (x * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const words = ['alpha', 'bravo', 'charlie', ' ', '{"id":', '}', '0123456789', 'x'.repeat(40)];
  let maxDistance = 0;
  let ok = true;
  for (let round = 0; round < 40; round++) {
    const d = zlibCodec.createDeflater({ windowBits: 8, level: 1 + (round % 9), memLevel: 8 });
    const strict = new StrictInflater(256);
    for (let k = 0; k < 10; k++) {
      const parts: string[] = [];
      for (let n = Math.floor(rnd() * 500); n > 0; n--) parts.push(words[Math.floor(rnd() * words.length)]!);
      const m = new TextEncoder().encode(parts.join(''));
      try {
        const out = strict.push(d.deflate(m));
        ok &&= out.length === m.length && out.every((b, j) => b === m[j]);
      } catch (e) {
        ok = false;
        console.log(String(e));
      }
    }
    maxDistance = Math.max(maxDistance, strict.maxDistance);
    d.close();
  }
  check(
    'window 8: every stream decodes with a strict 256-byte window',
    ok && maxDistance <= 256,
    `max distance ${maxDistance}`,
  );
}
