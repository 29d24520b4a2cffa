/**
 * Micro-benchmark of the core's two per-byte kernels alone, JavaScript against WebAssembly: unmasking
 * (`applyMask`) and UTF-8 validation (`isValidUtf8`), in GB/s, on whichever runtime runs it.
 *
 *   node bench/dist/kernels.js        (from packages/core, after `tsc -b` at the root and
 *                                      `tsc -p bench/tsconfig.json`)
 *   bun bench/kernels.ts
 *   deno run bench/kernels.ts
 *   ... [--sizes 16,64,256,1k,64k,1m] [--rounds N] [--ms N]
 *
 * The WebAssembly side calls the kernels directly at every size (also below the thresholds at which
 * mask.ts and utf8.ts start using them), so its rows show where those thresholds belong. UTF-8 runs on
 * two inputs: pure ASCII, and the receive benchmark's text (75% ASCII bytes, 2-, 3- and 4-byte words
 * mixed in). Each sample repeats one call until `--ms` has passed; the table shows the median of the
 * rounds, JavaScript and WebAssembly interleaved.
 */

import process from 'node:process';
import { Prng, textPayload } from './inputs.ts';

type Mask = typeof import('../src/mask.ts');
type Utf8 = typeof import('../src/utf8.ts');
type Kernels = typeof import('../src/kernels.ts');

// Compiled for Node this file runs from bench/dist and loads the core's compiled modules; Bun and Deno
// run the sources. The modules are internal (not exported from mod.ts), hence the paths.
const compiled = import.meta.url.includes('/bench/dist/');
const base = compiled ? '../../dist/' : '../src/';
const ext = compiled ? '.js' : '.ts';
const { applyMask } = (await import(`${base}mask${ext}`)) as Mask;
const { isValidUtf8 } = (await import(`${base}utf8${ext}`)) as Utf8;
const { setWasmKernelsEnabled, unmaskWasm, validateUtf8Wasm, wasmKernels } =
  (await import(`${base}kernels${ext}`)) as Kernels;

function option(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at < 0 ? undefined : process.argv[at + 1];
}
function parseSize(text: string): number {
  const match = /^(\d+)([km]?)$/i.exec(text.trim());
  if (!match) throw new Error(`bad size ${text}`);
  const unit = match[2]!.toLowerCase();
  return Number(match[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 * 1024 : 1);
}

const sizes = (option('--sizes') ?? '16,64,128,256,512,1k,64k,1m').split(',').map(parseSize);
const rounds = Number(option('--rounds') ?? 7);
const targetMs = Number(option('--ms') ?? 40);

const kernels = wasmKernels();
if (kernels === null) throw new Error('the WebAssembly kernels do not load on this runtime');
const runtime = 'Deno' in globalThis
  ? `deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}`
  : 'Bun' in globalThis
  ? `bun ${(globalThis as unknown as { Bun: { version: string } }).Bun.version}`
  : `node ${process.version}`;

let sink = 0;

/** Bytes per nanosecond (= GB/s) of `run` over `size` bytes: the mean of one sample of `targetMs`. */
function sample(size: number, run: () => void): number {
  let calls = 0;
  let elapsed = 0;
  const start = performance.now();
  let batch = 1;
  while (elapsed < targetMs) {
    for (let i = 0; i < batch; i++) run();
    calls += batch;
    batch *= 2;
    elapsed = performance.now() - start;
  }
  return (calls * size) / (elapsed * 1e6);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

interface Case {
  name: string;
  input(size: number): Uint8Array;
  js(bytes: Uint8Array): void;
  wasm(bytes: Uint8Array): void;
}

const key = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);
const rng = new Prng(7);
const cases: Case[] = [
  {
    name: 'unmask',
    input: (size) => {
      const bytes = new Uint8Array(size);
      rng.fill(bytes);
      return bytes;
    },
    js: (bytes) => applyMask(bytes, key, 1),
    wasm: (bytes) => unmaskWasm(kernels, bytes, key, 1, 0, bytes.length, bytes, 0, null),
  },
  ...(['ASCII', 'mixed text'] as const).map((name): Case => ({
    name: `UTF-8 ${name}`,
    input: (size) => name === 'ASCII' ? new Uint8Array(size).fill(0x61) : textPayload(size, rng).bytes,
    js: (bytes) => {
      sink += isValidUtf8(bytes) ? 1 : 0;
    },
    wasm: (bytes) => {
      // What utf8.ts does above its threshold: the kernel, then the short tail in JavaScript.
      const stop = validateUtf8Wasm(kernels, bytes, 0, bytes.length);
      sink += stop >= 0 && isValidUtf8(bytes, stop) ? 1 : 0;
    },
  })),
];

function formatSize(size: number): string {
  return size >= 1 << 20 ? `${size >> 20} MiB` : size >= 1024 ? `${size >> 10} KiB` : `${size} B`;
}

console.log(`# kernels, ${runtime}: GB/s, median of ${rounds} rounds of ${targetMs} ms\n`);
/**
 * The median GB/s of `a` and of `b` over `rounds` rounds, alternating which goes first; `before` runs
 * ahead of each round.
 */
function compare(size: number, a: () => void, b: () => void, before = () => {}): [number, number] {
  const as: number[] = [];
  const bs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    before();
    if (r % 2 === 0) {
      as.push(sample(size, a));
      bs.push(sample(size, b));
    } else {
      bs.push(sample(size, b));
      as.push(sample(size, a));
    }
  }
  return [median(as), median(bs)];
}

function row(name: string, size: number, [a, b]: [number, number]): void {
  console.log(
    `| ${name} | ${formatSize(size)} | ${a.toFixed(2)} | ${b.toFixed(2)} | ${(b / a).toFixed(2)}× |`,
  );
}

console.log('| kernel | size | JavaScript | WebAssembly | WASM ÷ JS |');
console.log('| --- | --- | ---: | ---: | ---: |');
for (const c of cases) {
  for (const size of sizes) {
    const bytes = c.input(size);
    // applyMask / isValidUtf8 take their JavaScript paths.
    const result = compare(size, () => c.js(bytes), () => c.wasm(bytes), () => setWasmKernelsEnabled(false));
    setWasmKernelsEnabled(true);
    row(c.name, size, result);
  }
}

// What the Node and Bun adapters inject as `validateUtf8`: the runtime's node:buffer isUtf8, against what the
// engine runs without it (isValidUtf8, kernels on above their threshold), to decide per runtime whether the
// injection is worth it.
const { isUtf8 } = (await import('node:buffer')) as { isUtf8(bytes: Uint8Array): boolean };
console.log(
  `\n# UTF-8, ${runtime}: ours (kernels on) against node:buffer isUtf8, GB/s, median of ${rounds} rounds\n`,
);
console.log('| input | size | ours | isUtf8 | isUtf8 ÷ ours |');
console.log('| --- | --- | ---: | ---: | ---: |');
for (const c of cases.slice(1)) {
  for (const size of sizes) {
    const bytes = c.input(size);
    const ours = () => {
      sink += isValidUtf8(bytes) ? 1 : 0;
    };
    const theirs = () => {
      sink += isUtf8(bytes) ? 1 : 0;
    };
    row(c.name, size, compare(size, ours, theirs));
  }
}
if (sink < 0) console.log(sink);
