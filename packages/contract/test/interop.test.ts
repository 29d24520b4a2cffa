/**
 * Cross-runtime interop: a Node server, a Bun server and a Deno server (each an echo listener of its own
 * adapter, compression on), each dialled from the two other runtimes, every side under its own runtime:
 * Node in this process, Bun and Deno in child processes (packages/contract/interop). Loopback only; every
 * child is bounded in time and killed at the end.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dial, listen, Upgrader } from '@sansws/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exchange, type InteropAdapter, serve } from '../interop/peer.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = (name: string): string => `${root}node_modules/.bin/${name}`;
type Runtime = 'node' | 'bun' | 'deno';

const node: InteropAdapter = {
  runtime: `node ${process.versions.node}`,
  listen: listen as unknown as InteropAdapter['listen'],
  createUpgrader: (options) => new Upgrader(options),
  dial,
};

function command(runtime: 'bun' | 'deno', args: string[]): [string, string[]] {
  return runtime === 'bun'
    ? [bin('bun'), ['--conditions=source', `${root}packages/contract/interop/bun.ts`, ...args]]
    : [bin('deno'), ['run', '--allow-net', `${root}packages/contract/interop/deno.ts`, ...args]];
}

const children = new Set<ChildProcess>();

/** Runs a child until it prints a line starting with `prefix`; resolves with the rest of that line. */
function runUntil(runtime: 'bun' | 'deno', args: string[], prefix: string, ms: number): Promise<string> {
  const [file, argv] = command(runtime, args);
  const child = spawn(file, argv, { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let output = '';
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${runtime} ${args.join(' ')}: no ${prefix} within ${ms} ms:\n${output}`));
    }, ms);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const line = output.split('\n').find((l) => l.startsWith(prefix));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(line.slice(prefix.length).trim());
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${runtime} ${args.join(' ')} exited with ${code}:\n${output}`));
    });
  });
}

const urls = new Map<Runtime, string>();
let stopNode: (() => Promise<void>) | undefined;

beforeAll(async () => {
  const server = await serve(node);
  stopNode = server.stop;
  urls.set('node', server.url);
  const [bunUrl, denoUrl] = await Promise.all([
    runUntil('bun', ['serve'], 'READY ', 60_000),
    runUntil('deno', ['serve'], 'READY ', 60_000),
  ]);
  urls.set('bun', bunUrl);
  urls.set('deno', denoUrl);
}, 90_000);

afterAll(async () => {
  for (const child of children) child.stdin?.end(); // servers stop when stdin closes
  await Promise.all([...children].map((child) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => (child.kill('SIGKILL'), resolve()), 5000);
      child.on('exit', () => (clearTimeout(timer), resolve()));
    })
  ));
  await stopNode?.();
});

describe('cross-runtime interop (compression on, every size class, ping, clean close)', () => {
  const runtimes: Runtime[] = ['node', 'bun', 'deno'];
  for (const server of runtimes) {
    for (const client of runtimes) {
      if (client === server) continue;
      it(`a ${client} client and a ${server} server`, async () => {
        const url = urls.get(server)!;
        const who = client === 'node'
          ? await exchange(node, url)
          : await runUntil(client, ['dial', url], 'OK ', 60_000);
        expect(who.split(' ')[0]).toBe(server);
      }, 90_000);
    }
  }
});
