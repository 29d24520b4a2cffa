/**
 * The packages as a user meets them: `npm pack` of every publishable workspace package, then projects that
 * are not ours (in the OS temp folder) install the tarballs and use them.
 *
 * - Node: `npm install ./*.tgz`, a TypeScript program type-checked against the published `.d.ts` (strict,
 *   `exactOptionalPropertyTypes`, `skipLibCheck: false`, so errors inside our `.d.ts` count) and run: a
 *   `@sansws/node` server and client, permessage-deflate, messages both ways, a clean close.
 * - The same consumer types under `moduleResolution: NodeNext` and `Bundler`, every entry point imported.
 * - Bun: `bun install` of the same tarballs, the same program on `@sansws/bun` (type-checked with
 *   `@types/bun`, then run by Bun).
 * - Deno: the same program on `@sansws/deno`, imported through the packages' `deno.json` exports (an import
 *   map built from them: no npm for our packages), run with `deno run --check`; `deno publish --dry-run`.
 *
 * Everything is loopback; every child process has a time limit; nothing waits on a timer.
 */

import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name: string): string => join(root, 'node_modules', '.bin', name);
const readJson = (path: string): Record<string, unknown> => JSON.parse(readFileSync(path, 'utf8'));
const installedVersion = (name: string): string =>
  readJson(join(root, 'node_modules', name, 'package.json'))['version'] as string;

interface Workspace {
  readonly name: string;
  readonly dir: string;
  readonly manifest: Record<string, unknown>;
}

/** Every workspace member (packages/*, adapters/*, conformance) and its package.json. */
const workspaces: Workspace[] = ['packages', 'adapters']
  .flatMap((group) => readdirSync(join(root, group)).map((name) => join(root, group, name)))
  .concat(join(root, 'conformance'))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => {
    const manifest = readJson(join(dir, 'package.json'));
    return { name: manifest['name'] as string, dir, manifest };
  });
/** The ones npm publishes. */
const publishable = workspaces.filter((w) => w.manifest['private'] !== true);
/** The ones JSR publishes: every deno.json member of the root Deno workspace. */
const denoMembers = (readJson(join(root, 'deno.json'))['workspace'] as string[]).map((member) => {
  const dir = join(root, member);
  return { dir, config: readJson(join(dir, 'deno.json')) };
});

/** Runs a program; rejects with its output on a non-zero exit or after `timeout` ms. */
function run(
  file: string,
  args: readonly string[],
  options: { cwd: string; timeout?: number; env?: NodeJS.ProcessEnv },
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    execFile(
      file,
      args,
      {
        cwd: options.cwd,
        env: options.env ?? cleanEnv,
        timeout: options.timeout ?? 60_000,
        maxBuffer: 32 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error === null) done({ stdout, stderr });
        else {fail(
            new Error(
              `${file} ${args.join(' ')} (in ${options.cwd}): ${error.message}\n${stdout}\n${stderr}`,
            ),
          );}
      },
    );
  });
}

/**
 * The environment without npm's `npm_*` variables: under `npm test` they carry the repository's settings
 * (`npm_config_local_prefix` among them), and an `npm install` in the consumer project must not see them.
 */
const cleanEnv: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')),
);

/** The consumer program: a server and a client on `runtime`'s adapter. Prints `RESULT {json}`. */
const app = (adapter: string): string => `
// A consumer of the published packages: permessage-deflate on, three messages each way, a clean close.
import { dial, listen, type Message, Upgrader } from '${adapter}';

const guard = setTimeout(() => {
  console.error('timed out');
  process.exit(1);
}, 20_000);

let serverExtensions: string | null = null;
const server = await listen({
  port: 0,
  host: '127.0.0.1',
  upgrader: new Upgrader({ compression: true }),
  handler: async (conn) => {
    serverExtensions = conn.extensions;
    for await (const message of conn) await conn.writeMessage(message.type, message.data);
  },
});
const { conn } = await dial(server.url, { compression: true });
const sent: Message[] = [
  { type: 'text', data: 'hello' },
  { type: 'text', data: 'sansws '.repeat(10_000) },
  { type: 'binary', data: new Uint8Array([0, 1, 2, 255]) },
];
const received: Message[] = [];
for (const message of sent) {
  await conn.writeMessage(message.type, message.data);
  received.push(await conn.readMessage());
}
const closed = await conn.close(1000, 'bye');
await server.shutdown();
clearTimeout(guard);
const same = sent.every((m, i) => {
  const r = received[i];
  if (r === undefined || r.type !== m.type) return false;
  return typeof m.data === 'string' ? r.data === m.data : String(r.data) === String(m.data);
});
console.log('RESULT ' + JSON.stringify({ same, client: conn.extensions, server: serverExtensions, closed }));
`;

/** Every published entry point, used the way a consumer would. */
const typesProgram = `
import * as core from '@sansws/core';
import * as deflate from '@sansws/core/deflate';
import * as zlib from '@sansws/zlib';
import * as conn from '@sansws/conn';
import * as node from '@sansws/node';
import * as testing from '@sansws/testing';
import * as fuzz from '@sansws/testing/fuzz';
import * as contract from '@sansws/contract';

const engine: core.ServerConnection = new core.ServerConnection({
  compression: deflate.serverPerMessageDeflate({ codec: zlib.zlibCodec }),
});
const client: core.ClientCompression = deflate.clientPerMessageDeflate({ codec: zlib.zlibCodec, level: 1 });
const upgrader: node.Upgrader = new node.Upgrader({ compression: true, checkOrigin: () => true });
const dialOptions: node.DialOptions = { compression: { codec: zlib.zlibCodec }, handshakeTimeout: 5_000 };
const timers: conn.Timers = node.nodeTimers;
const message: node.Message = { type: 'text', data: 'x' };
export const used: unknown[] = [engine, client, upgrader, dialOptions, timers, message, testing.pipe, fuzz, contract.contractCases];
`;

const strict = { strict: true, exactOptionalPropertyTypes: true, skipLibCheck: false, target: 'es2022' };

function expectCleanSession(stdout: string): void {
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  expect(line, stdout).toBeDefined();
  const result = JSON.parse(line!.slice('RESULT '.length));
  expect(result.same).toBe(true);
  expect(result.client).toMatch(/^permessage-deflate/);
  expect(result.server).toMatch(/^permessage-deflate/);
  expect(result.closed).toMatchObject({ code: 1000, clean: true });
}

/** Bare specifiers imported by a JavaScript or declaration file (comments removed first). */
function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found = [
    ...code.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*['"]([^'"]+)['"]/gm),
    ...code.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
    ...code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1]!);
  return found.filter((s) => !s.startsWith('.'));
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

let work = '';
let packs = '';
const tarballs = new Map<string, string>();
const packedFiles = new Map<string, string[]>();
const manifestsBefore = new Map<string, string>();
let nodeApp: Promise<string> | undefined;

/** The Node consumer project, installed once for the tests that need it. */
function installNodeApp(): Promise<string> {
  nodeApp ??= (async () => {
    const dir = join(work, 'node-app');
    await mkdir(dir);
    await writeFile(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'node-consumer', private: true, type: 'module' }),
    );
    await run('npm', [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      ...[...tarballs.values()],
      `@types/node@${installedVersion('@types/node')}`,
    ], { cwd: dir, timeout: 90_000 });
    return dir;
  })();
  return nodeApp;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sansws-packaging-'));
  packs = join(work, 'packs');
  await mkdir(packs);
  for (const w of workspaces) manifestsBefore.set(w.dir, readFileSync(join(w.dir, 'package.json'), 'utf8'));
  await run(bin('tsc'), ['-b'], { cwd: root, timeout: 120_000 });
  const { stdout } = await run(
    'npm',
    ['pack', '--json', '--pack-destination', packs, ...publishable.flatMap((w) => ['--workspace', w.name])],
    { cwd: root, timeout: 120_000 },
  );
  const packed = JSON.parse(stdout.slice(stdout.indexOf('['))) as {
    name: string;
    filename: string;
    files: { path: string }[];
  }[];
  for (const p of packed) {
    tarballs.set(p.name, join(packs, p.filename));
    packedFiles.set(p.name, p.files.map((f) => f.path));
  }
}, 180_000);

afterAll(async () => {
  if (work !== '' && process.env['SANSWS_KEEP_PACKAGING'] === undefined) {
    await rm(work, { recursive: true, force: true });
  }
});

describe.concurrent('packages installed from their tarballs', () => {
  it('packs every publishable package, leaving the working tree as it was', () => {
    expect([...tarballs.keys()].sort()).toEqual(publishable.map((w) => w.name).sort());
    for (const w of workspaces) {
      expect(readFileSync(join(w.dir, 'package.json'), 'utf8'), w.name).toBe(manifestsBefore.get(w.dir));
      expect(existsSync(join(w.dir, 'package.json.orig')), w.name).toBe(false);
      expect(existsSync(join(w.dir, 'package.json.lock')), w.name).toBe(false);
    }
  });

  it('ships only the built JavaScript, its .d.ts, README and LICENSE', () => {
    for (const [name, files] of packedFiles) {
      const extra = files.filter((f) =>
        !/^dist\/.+\.(js|d\.ts)$/.test(f) && !['package.json', 'README.md', 'LICENSE'].includes(f)
      );
      expect(extra, name).toEqual([]);
      expect(files, name).toEqual(
        expect.arrayContaining(['README.md', 'LICENSE', 'dist/mod.js', 'dist/mod.d.ts']),
      );
    }
  });

  it(
    'publishes manifests with types, no "source" condition, engines, and pinned sansws versions',
    async () => {
      const dir = await installNodeApp();
      for (const w of publishable) {
        const m = readJson(join(dir, 'node_modules', w.name, 'package.json'));
        expect(JSON.stringify(m['exports']), w.name).not.toContain('"source"');
        expect(JSON.stringify(m['exports']), w.name).toContain('"types"');
        expect(m['sideEffects'], w.name).toBe(false);
        expect(m['engines'], w.name).toBeDefined();
        expect(m['repository'], w.name).toBeDefined();
        for (const [dep, range] of Object.entries((m['dependencies'] ?? {}) as Record<string, string>)) {
          if (dep.startsWith('@sansws/')) expect(range, `${w.name} → ${dep}`).toBe(m['version']);
        }
      }
    },
    120_000,
  );

  it('declares exactly the packages its published files import', async () => {
    const dir = await installNodeApp();
    const builtins = new Set(builtinModules);
    for (const w of publishable) {
      const pkg = join(dir, 'node_modules', w.name);
      const m = readJson(join(pkg, 'package.json'));
      const declared = new Set([
        ...Object.keys((m['dependencies'] ?? {}) as object),
        ...Object.keys((m['peerDependencies'] ?? {}) as object).map((p) => p.replace(/^@types\//, '')),
      ]);
      const imported = new Set<string>();
      for (const file of await filesUnder(join(pkg, 'dist'))) {
        for (const specifier of importsOf(await readFile(file, 'utf8'))) {
          if (specifier.startsWith('node:') || builtins.has(specifier)) continue;
          imported.add(
            specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!,
          );
        }
      }
      const runtimeDeps = new Set(Object.keys((m['dependencies'] ?? {}) as object));
      expect([...imported].filter((s) => !declared.has(s)), `${w.name}: imported, not declared`).toEqual([]);
      expect([...runtimeDeps].filter((s) => !imported.has(s)), `${w.name}: declared, not imported`).toEqual(
        [],
      );
    }
  }, 120_000);

  it('a Node project type-checks against the published .d.ts, then talks compressed WebSocket', async () => {
    const dir = await installNodeApp();
    await writeFile(join(dir, 'app.ts'), app('@sansws/node'));
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          ...strict,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          types: ['node'],
          outDir: 'out',
        },
        files: ['app.ts'],
      }),
    );
    await run(bin('tsc'), ['-p', 'tsconfig.json'], { cwd: dir });
    const { stdout } = await run(process.execPath, ['out/app.js'], { cwd: dir, timeout: 30_000 });
    expectCleanSession(stdout);
  }, 120_000);

  it('installs the sansws-fuzz command of @sansws/testing, which runs', async () => {
    const dir = await installNodeApp();
    const { stdout } = await run(join(dir, 'node_modules', '.bin', 'sansws-fuzz'), ['--help'], { cwd: dir });
    expect(stdout).toContain('usage: sansws-fuzz');
  }, 120_000);

  it(
    'every entry point type-checks for NodeNext and Bundler consumers (strict, exactOptionalPropertyTypes)',
    async () => {
      const dir = await installNodeApp();
      await writeFile(join(dir, 'types.ts'), typesProgram);
      const modes = {
        nodenext: { module: 'nodenext', moduleResolution: 'nodenext' },
        bundler: { module: 'preserve', moduleResolution: 'bundler' },
      };
      for (const [mode, resolution] of Object.entries(modes)) {
        const config = `tsconfig.${mode}.json`;
        await writeFile(
          join(dir, config),
          JSON.stringify({
            compilerOptions: { ...strict, ...resolution, types: ['node'], noEmit: true },
            files: ['types.ts'],
          }),
        );
        await run(bin('tsc'), ['-p', config], { cwd: dir });
      }
    },
    120_000,
  );

  it('a Bun project installs the same tarballs and talks compressed WebSocket on @sansws/bun', async () => {
    const dir = join(work, 'bun-app');
    await mkdir(dir);
    // Our packages from the tarballs, also where one depends on another (overrides), nothing from a registry.
    const ours = Object.fromEntries([...tarballs].map(([name, file]) => [name, `file:${file}`]));
    await writeFile(
      join(dir, 'package.json'),
      JSON.stringify({
        name: 'bun-consumer',
        private: true,
        type: 'module',
        dependencies: ours,
        overrides: ours,
        devDependencies: { '@types/bun': installedVersion('@types/bun') },
      }),
    );
    await run(bin('bun'), ['install', '--no-progress'], { cwd: dir, timeout: 90_000 });
    await writeFile(join(dir, 'app.ts'), app('@sansws/bun'));
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          ...strict,
          module: 'preserve',
          moduleResolution: 'bundler',
          types: ['bun'],
          noEmit: true,
        },
        files: ['app.ts'],
      }),
    );
    await run(bin('tsc'), ['-p', 'tsconfig.json'], { cwd: dir });
    const { stdout } = await run(bin('bun'), ['run', 'app.ts'], { cwd: dir, timeout: 30_000 });
    expectCleanSession(stdout);
  }, 120_000);

  it(
    'a Deno script imports the packages through their deno.json exports and talks on @sansws/deno',
    async () => {
      const dir = join(work, 'deno-app');
      await mkdir(dir);
      // What JSR would serve: each package's exports, and the npm: dependencies its deno.json declares.
      const imports: Record<string, string> = {};
      for (const { dir: member, config } of denoMembers) {
        const exports = typeof config['exports'] === 'string'
          ? { '.': config['exports'] }
          : config['exports'] as Record<string, string>;
        for (const [subpath, target] of Object.entries(exports)) {
          imports[`${config['name']}${subpath.slice(1)}`] = join(member, target);
        }
        Object.assign(imports, config['imports'] ?? {});
      }
      expect(imports['@sansws/deno']).toBeDefined();
      await writeFile(join(dir, 'deno.json'), JSON.stringify({ imports, nodeModulesDir: 'auto' }));
      await writeFile(join(dir, 'app.ts'), app('@sansws/deno'));
      const { stdout } = await run(bin('deno'), ['run', '--check', '--allow-net', 'app.ts'], {
        cwd: dir,
        timeout: 90_000,
        env: { ...cleanEnv, NO_COLOR: '1' },
      });
      expectCleanSession(stdout);
    },
    120_000,
  );

  it('deno publish --dry-run passes for every package of the Deno workspace', async () => {
    const { stdout, stderr } = await run(bin('deno'), ['publish', '--dry-run', '--allow-dirty'], {
      cwd: root,
      timeout: 90_000,
      env: { ...cleanEnv, NO_COLOR: '1' },
    });
    const output = stdout + stderr;
    expect(output).toContain('Dry run complete');
    for (const { config } of denoMembers) {
      expect(output).toContain(`Simulating publish of ${config['name']}@${config['version']}`);
    }
  }, 120_000);
});
