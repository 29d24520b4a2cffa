/** Shared by the vitest suites (Node) and zlib_runtime_test.ts (Bun, Deno): no test framework in here. */

import { Buffer } from 'node:buffer';
import type { ZlibInflater } from '../src/mod.ts';

/** The chunks joined into one plain Uint8Array (`node:buffer` is there on Node, Bun and Deno alike). */
export function join(chunks: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(chunks));
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
