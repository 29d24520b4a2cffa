/** Shared by the vitest suites (Node) and zlib_runtime_test.ts (Bun, Deno): no test framework in here. */

import type { ZlibInflater } from '../src/mod.ts';

/** The chunks joined into one array. */
export function join(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/** One `inflate` call: its status, its output joined, and whether every chunk was a plain Uint8Array. */
export function inflateAll(
  inflater: ZlibInflater,
  data: Uint8Array,
  maxOutput = Infinity,
): { status: string; out: Uint8Array; plain: boolean } {
  const chunks: Uint8Array[] = [];
  const status = inflater.inflate(data, maxOutput, (c) => chunks.push(c));
  return { status, out: join(chunks), plain: chunks.every((c) => c.constructor === Uint8Array) };
}
