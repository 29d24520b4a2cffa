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
 * `prepack` keeps the original text in `package.json.orig` and writes the stripped manifest; `postpack`
 * puts the original back. A backup left by an interrupted pack is restored first, never overwritten.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const MANIFEST = 'package.json';
const BACKUP = 'package.json.orig';

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
if (command === 'prepack') {
  if (existsSync(BACKUP)) renameSync(BACKUP, MANIFEST);
  const text = readFileSync(MANIFEST, 'utf8');
  const manifest = JSON.parse(text);
  manifest.exports = stripSource(manifest.exports);
  writeFileSync(BACKUP, text);
  writeFileSync(MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`);
} else if (command === 'postpack') {
  if (existsSync(BACKUP)) renameSync(BACKUP, MANIFEST);
} else {
  console.error('usage: pack-manifest.mjs prepack|postpack');
  process.exit(2);
}
