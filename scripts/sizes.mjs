#!/usr/bin/env node
/**
 * `npm run sizes`: what each package costs a user, measured from the tarballs `npm pack` makes.
 *
 * - packed: the tarball's size; unpacked: its files' size (npm's own figures);
 * - installed: `node_modules` of a fresh project (in the OS temp folder) that installs only that package,
 *   with what it depends on — the sansws packages it needs from their tarballs, the rest from npm's cache or
 *   the registry; `ws` installed the same way for comparison;
 * - the core minified with esbuild into one ESM file (and gzipped): all of it, and what a server-only or
 *   client-only user bundles (tree-shaken); `@sansws/node` with everything it imports except node builtins;
 * - start-up: the time to `import('@sansws/node')` in a fresh `node` process, beside `import('ws')`, each the
 *   median of RUNS runs (alternating, so that a busy machine slows both alike), measured inside the process
 *   (`performance.now()` around the import) and as the whole process's wall time.
 *
 * - the core's minified bytes per source module (esbuild's metafile: each module's share of the "everything"
 *   bundle), to see where its size goes.
 *
 * Options: `--runs N` (default 21), `--json` (machine-readable output), `--core` (only the core's bundles and
 * per-module bytes, built from `packages/core/dist` after `tsc -b`, without packing, installing or timing: a
 * few seconds, for working on the core's size). Prints Markdown tables.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const runsArg = args.indexOf('--runs');
const RUNS = runsArg >= 0 ? Number(args[runsArg + 1]) : 21;
const asJson = args.includes('--json');
const coreOnly = args.includes('--core');

const env = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')),
);
const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));
const sh = (file, argv, cwd) =>
  execFileSync(file, argv, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const log = (message) => {
  if (!asJson) process.stderr.write(`${message}\n`);
};

/** Total size of the files under `dir`, in bytes. */
function du(dir) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}

const workspaces = ['packages', 'adapters']
  .flatMap((group) => readdirSync(join(root, group)).map((name) => join(root, group, name)))
  .concat(join(root, 'conformance'))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => ({ dir, manifest: readJson(join(dir, 'package.json')) }))
  .filter((w) => w.manifest.private !== true);

/**
 * Bundles `source` (resolved from `dir`), minified, as one ESM file. With `modules`, also each input
 * module's bytes in the output, largest first, named by the path after `modules` (e.g. `http.js`).
 */
async function minify(dir, source, label, modules) {
  const result = await build({
    stdin: { contents: source, resolveDir: dir, loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'node',
    target: 'es2022',
    write: false,
    metafile: modules !== undefined,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0].contents;
  const bundle = { label, minified: code.length, gzipped: gzipSync(code, { level: 9 }).length };
  if (modules === undefined) return bundle;
  const inputs = Object.values(result.metafile.outputs)[0].inputs;
  bundle.modules = Object.entries(inputs)
    .filter(([path]) => path.includes(modules))
    .map(([path, input]) => ({
      module: path.slice(path.lastIndexOf(modules) + modules.length),
      bytes: input.bytesInOutput,
    }))
    .filter((m) => m.bytes > 0)
    .sort((x, y) => y.bytes - x.bytes);
  return bundle;
}

/**
 * The core bundled whole (with its bytes per module), as a server-only and a client-only user would, and
 * the same with permessage-deflate (`deflate`: the specifier of the `@sansws/core/deflate` entry point).
 */
async function coreBundles(dir, specifier, deflate) {
  return [
    await minify(dir, `export * from '${specifier}';`, '@sansws/core, everything', 'core/dist/'),
    await minify(
      dir,
      `export { ServerConnection } from '${specifier}';`,
      '@sansws/core, `ServerConnection` only',
    ),
    await minify(
      dir,
      `export { ClientConnection } from '${specifier}';`,
      '@sansws/core, `ClientConnection` only',
    ),
    await minify(
      dir,
      `export * from '${specifier}'; export * from '${deflate}';`,
      '@sansws/core and @sansws/core/deflate, everything',
    ),
    await minify(
      dir,
      `export { ServerConnection } from '${specifier}'; export { serverPerMessageDeflate } from '${deflate}';`,
      '`ServerConnection` with `serverPerMessageDeflate`',
    ),
  ];
}

const kb = (n) => (n === null ? '—' : `${(n / 1024).toFixed(1)} KB`);

function printBundles(bundles) {
  console.log('| bundle (esbuild, minified ESM) | minified | bytes | gzipped |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const b of bundles) {
    console.log(`| ${b.label} | ${kb(b.minified)} | ${b.minified} | ${kb(b.gzipped)} |`);
  }
  const modules = bundles.find((b) => b.modules !== undefined)?.modules;
  if (modules === undefined) return;
  console.log('\n| `@sansws/core` module (share of the whole bundle) | minified bytes |');
  console.log('| --- | ---: |');
  for (const m of modules) console.log(`| ${m.module} | ${m.bytes} |`);
}

if (coreOnly) {
  execFileSync(join(root, 'node_modules/.bin/tsc'), ['-b', 'packages/core'], { cwd: root, stdio: 'inherit' });
  const bundles = await coreBundles(join(root, 'packages/core'), './dist/mod.js', './dist/deflate-entry.js');
  if (asJson) console.log(JSON.stringify({ bundles }, null, 2));
  else printBundles(bundles);
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), 'sansws-sizes-'));
try {
  log('building and packing…');
  sh(join(root, 'node_modules/.bin/tsc'), ['-b'], root);
  const packs = join(work, 'packs');
  mkdirSync(packs);
  const packOutput = sh(
    'npm',
    [
      'pack',
      '--json',
      '--pack-destination',
      packs,
      ...workspaces.flatMap((w) => ['--workspace', w.manifest.name]),
    ],
    root,
  );
  const packed = new Map(JSON.parse(packOutput.slice(packOutput.indexOf('['))).map((p) => [p.name, p]));

  /** A package and the sansws packages it needs, transitively. */
  const closure = (name, seen = new Set()) => {
    if (seen.has(name)) return seen;
    seen.add(name);
    const w = workspaces.find((x) => x.manifest.name === name);
    for (const dep of Object.keys(w.manifest.dependencies ?? {})) {
      if (dep.startsWith('@sansws/')) closure(dep, seen);
    }
    return seen;
  };

  const install = (label, specs) => {
    const dir = join(work, label.replace(/[@/]/g, '_'));
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    sh('npm', [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      '--no-package-lock',
      ...specs,
    ], dir);
    return dir;
  };

  log('installing each package into a fresh project…');
  const packages = [];
  for (const w of workspaces) {
    const p = packed.get(w.manifest.name);
    const dir = install(
      w.manifest.name,
      [...closure(w.manifest.name)].map((n) => join(packs, packed.get(n).filename)),
    );
    packages.push({
      name: w.manifest.name,
      packed: p.size,
      unpacked: p.unpackedSize,
      files: p.entryCount,
      installed: du(join(dir, 'node_modules')),
      dependencies: Object.keys(w.manifest.dependencies ?? {}),
    });
  }
  const wsVersion = readJson(join(root, 'node_modules/ws/package.json')).version;
  const wsDir = install('ws', [`ws@${wsVersion}`]);
  const nodeDir = join(work, '_sansws_node');
  packages.push({
    name: `ws@${wsVersion} (for comparison)`,
    packed: null,
    unpacked: du(join(wsDir, 'node_modules/ws')),
    files: null,
    installed: du(join(wsDir, 'node_modules')),
    dependencies: [],
  });

  log('minifying…');
  const bundles = [
    ...(await coreBundles(nodeDir, '@sansws/core', '@sansws/core/deflate')),
    await minify(nodeDir, `export * from '@sansws/node';`, '@sansws/node with conn, core, zlib'),
    await minify(wsDir, `export * from 'ws';`, `ws@${wsVersion}`),
  ];

  log(`timing imports (${RUNS} runs each)…`);
  const probe = (specifier) =>
    `const t = performance.now(); await import(${JSON.stringify(specifier)}); ` +
    `process.stdout.write(String(performance.now() - t));`;
  const once = (cwd, specifier) => {
    const start = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe(specifier)], {
      cwd,
      env,
      encoding: 'utf8',
    });
    const wall = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.status !== 0) throw new Error(`import ${specifier} failed: ${r.stderr}`);
    return { inside: Number(r.stdout), wall };
  };
  const subjects = [
    { label: '@sansws/node', cwd: nodeDir, specifier: '@sansws/node' },
    { label: `ws@${wsVersion}`, cwd: wsDir, specifier: 'ws' },
    { label: 'node:net (baseline)', cwd: wsDir, specifier: 'node:net' },
  ];
  for (const s of subjects) once(s.cwd, s.specifier); // warm the file cache
  const samples = new Map(subjects.map((s) => [s.label, []]));
  for (let i = 0; i < RUNS; i++) {
    for (const s of i % 2 === 0 ? subjects : [...subjects].reverse()) {
      samples.get(s.label).push(once(s.cwd, s.specifier));
    }
  }
  const median = (xs) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  };
  const imports = subjects.map((s) => ({
    label: s.label,
    importMs: median(samples.get(s.label).map((x) => x.inside)),
    processMs: median(samples.get(s.label).map((x) => x.wall)),
  }));

  const report = {
    node: process.version,
    runs: RUNS,
    packages,
    bundles,
    imports,
  };
  if (asJson) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    console.log(`Node ${process.version}, ${RUNS} runs per import.\n`);
    console.log('| package | packed | unpacked | installed (with dependencies) | dependencies |');
    console.log('| --- | ---: | ---: | ---: | --- |');
    for (const p of packages) {
      console.log(
        `| ${p.name} | ${kb(p.packed)} | ${kb(p.unpacked)} | ${kb(p.installed)} | ${
          p.dependencies.join(', ') || 'none'
        } |`,
      );
    }
    console.log('');
    printBundles(bundles);
    console.log('\n| import in a fresh `node` process | import (median) | whole process (median) |');
    console.log('| --- | ---: | ---: |');
    for (const i of imports) {
      console.log(`| ${i.label} | ${i.importMs.toFixed(1)} ms | ${i.processMs.toFixed(1)} ms |`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
