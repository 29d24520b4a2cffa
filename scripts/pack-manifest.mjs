#!/usr/bin/env node
/**
 * `npm pack` / `npm publish` hooks (each publishable package's `prepack` and `postpack`, run in the package's
 * folder): the packed package.json loses the `"source"` export conditions.
 *
 * Why: inside this repository `"source"` points at `./src/*.ts`, so that vitest, `bun --conditions=source`
 * and the examples run the TypeScript sources without a build. Published, it would point at files the
 * tarball does not ship (only `dist/**\/*.js` and `.d.ts` are), and "source" is a condition that other
 * monorepos enable for their own packages (TypeScript `customConditions`, `node --conditions`, bundlers):
 * such a consumer would resolve `@sansws/*` to a missing file. The repository keeps the condition; the
 * tarball does not.
 *
 * `prepack` takes `package.json.lock` (created exclusively: a second pack of the same package, say two test
 * runs in one working tree, waits for the first one's `postpack`), keeps the original text in
 * `package.json.orig` and writes the stripped manifest; `postpack` puts the original back and releases the
 * lock. A lock older than a minute was left by an interrupted pack: its backup is restored first.
 */
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';

const MANIFEST = 'package.json';
const BACKUP = 'package.json.orig';
const LOCK = 'package.json.lock';

/** Drops every `"source"` key from an `exports` value, at any depth. */
function stripSource(exports) {
  if (exports === null || typeof exports !== 'object') return exports;
  if (Array.isArray(exports)) return exports.map(stripSource);
  const out = {};
  for (const [key, value] of Object.entries(exports)) {
    if (key !== 'source') out[key] = stripSource(value);
  }
  return out;
}

const command = process.argv[2];
const STALE_MS = 60_000;

/** Blocks the thread for `ms` (this process has nothing else to do meanwhile). */
function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Takes the lock; waits while another pack holds it, breaks it once it is stale. */
function lock() {
  for (;;) {
    try {
      writeFileSync(LOCK, String(process.pid), { flag: 'wx' });
      return;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    let age = 0;
    try {
      age = Date.now() - statSync(LOCK).mtimeMs;
    } catch {
      continue; // released meanwhile
    }
    if (age > STALE_MS) {
      if (existsSync(BACKUP)) renameSync(BACKUP, MANIFEST);
      rmSync(LOCK, { force: true });
    } else {
      sleep(50);
    }
  }
}

if (command === 'prepack') {
  lock();
  const text = readFileSync(MANIFEST, 'utf8');
  const manifest = JSON.parse(text);
  manifest.exports = stripSource(manifest.exports);
  writeFileSync(BACKUP, text);
  writeFileSync(MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`);
} else if (command === 'postpack') {
  if (existsSync(BACKUP)) renameSync(BACKUP, MANIFEST);
  rmSync(LOCK, { force: true });
} else {
  console.error('usage: pack-manifest.mjs prepack|postpack');
  process.exit(2);
}
