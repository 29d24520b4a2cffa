// @ts-check
/**
 * The echo servers the benchmarks drive, and how each is started (from the repository root). Shared by
 * `bench/run.mjs` (the matrix) and `bench/cell.mjs` (one cell, one server, longer windows), with how both pin
 * processes to cores and which allocator settings they report.
 *
 * @module
 */

import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const NODE = process.execPath;
export const BUN = path.join(root, 'node_modules/.bin/bun');
export const DENO = path.join(root, 'node_modules/.bin/deno');

/** Servers run on this core and the load generator on the other, when {@link CAN_PIN}. */
export const SERVER_CORE = '0';
export const LOAD_CORE = '1';
/** Whether processes can be pinned: `taskset` works and there are two cores or more. */
export const CAN_PIN = (() => {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return os.availableParallelism() >= 2;
  } catch {
    return false;
  }
})();

/**
 * Allocator settings every server inherits from this process's environment (e.g. `MIMALLOC_PURGE_DELAY` for
 * Bun's mimalloc, `GLIBC_TUNABLES` or `MALLOC_ARENA_MAX` for glibc), as `NAME=value`: they move
 * large-message cells, so the reports name them.
 * @returns {string[]}
 */
export function allocatorSettings() {
  return Object.entries(process.env)
    .filter(([name]) => /^(MIMALLOC_|MALLOC_|GLIBC_TUNABLES$)/.test(name))
    .map(([name, value]) => `${name}=${value}`);
}

/**
 * @typedef {object} ServerSpec
 * @property {string} id
 * @property {string} label
 * @property {'node' | 'bun' | 'deno'} runtime
 * @property {'sansws' | 'ws' | 'builtin' | 'raw'} kind
 * @property {string[]} command
 * @property {Record<string, string>} [env]
 * @property {boolean} compression whether it can do permessage-deflate
 */

/** The sansws Deno server (it reads `BENCH_RELEASE`, see the server). */
const DENO_SANSWS = [
  DENO,
  'run',
  '--allow-net',
  '--allow-env=BENCH_RELEASE',
  '--v8-flags=--expose-gc',
  'bench/servers/deno-sansws.ts',
];

/** @type {ServerSpec[]} */
export const SERVERS = [
  {
    id: 'sansws-node',
    label: 'sansws (Node)',
    runtime: 'node',
    kind: 'sansws',
    command: [NODE, '--expose-gc', 'bench/servers/node-sansws.mjs'],
    compression: true,
  },
  {
    id: 'sansws-node-handler',
    label: 'sansws, message handler + Conn.release (Node)',
    runtime: 'node',
    kind: 'sansws',
    command: [NODE, '--expose-gc', 'bench/servers/node-sansws.mjs', '--handler'],
    compression: true,
  },
  {
    id: 'ws-node',
    label: 'ws + bufferutil (Node)',
    runtime: 'node',
    kind: 'ws',
    command: [NODE, '--expose-gc', 'bench/servers/node-ws.mjs'],
    compression: true,
  },
  {
    id: 'ws-node-js',
    label: 'ws, no addons (Node)',
    runtime: 'node',
    kind: 'ws',
    command: [NODE, '--expose-gc', 'bench/servers/node-ws.mjs'],
    env: { WS_NO_BUFFER_UTIL: '1', WS_NO_UTF_8_VALIDATE: '1' },
    compression: true,
  },
  {
    id: 'raw-node',
    label: 'raw TCP (Node)',
    runtime: 'node',
    kind: 'raw',
    command: [NODE, '--expose-gc', 'bench/servers/node-raw.mjs'],
    compression: false,
  },
  {
    id: 'sansws-bun',
    label: 'sansws (Bun)',
    runtime: 'bun',
    kind: 'sansws',
    command: [BUN, 'bench/servers/bun-sansws.ts'],
    compression: true,
  },
  {
    id: 'sansws-bun-handler',
    label: 'sansws, message handler + Conn.release (Bun)',
    runtime: 'bun',
    kind: 'sansws',
    command: [BUN, 'bench/servers/bun-sansws.ts', '--handler'],
    compression: true,
  },
  {
    id: 'bun-builtin',
    label: 'Bun.serve (Bun)',
    runtime: 'bun',
    kind: 'builtin',
    command: [BUN, 'bench/servers/bun-builtin.ts'],
    compression: true,
  },
  {
    id: 'raw-bun',
    label: 'raw TCP (Bun)',
    runtime: 'bun',
    kind: 'raw',
    command: [BUN, 'bench/servers/bun-raw.ts'],
    compression: false,
  },
  {
    id: 'sansws-deno',
    label: 'sansws (Deno)',
    runtime: 'deno',
    kind: 'sansws',
    command: DENO_SANSWS,
    compression: true,
  },
  {
    id: 'sansws-deno-handler',
    label: 'sansws, message handler + Conn.release (Deno)',
    runtime: 'deno',
    kind: 'sansws',
    command: [...DENO_SANSWS, '--handler'],
    compression: true,
  },
  {
    id: 'deno-builtin',
    label: 'Deno.upgradeWebSocket (Deno)',
    runtime: 'deno',
    kind: 'builtin',
    command: [DENO, 'run', '--allow-net', '--v8-flags=--expose-gc', 'bench/servers/deno-builtin.ts'],
    compression: false,
  },
  {
    id: 'raw-deno',
    label: 'raw TCP (Deno)',
    runtime: 'deno',
    kind: 'raw',
    command: [DENO, 'run', '--allow-net', '--v8-flags=--expose-gc', 'bench/servers/deno-raw.ts'],
    compression: false,
  },
];
