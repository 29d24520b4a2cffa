/**
 * Starting the echo servers and client drivers of conformance/echo as child processes under Node, Bun or
 * Deno, and stopping them. Used by the launcher (`npm run echo`, `npm run conformance-client`), by
 * `npm run conformance` and by conformance/test/adapters.test.ts. Readiness is the URL the child prints,
 * never a sleep.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type Runtime = 'node' | 'bun' | 'deno';
export const RUNTIMES: readonly Runtime[] = ['node', 'bun', 'deno'];

/** The repository root (this file runs as conformance/echo/children.ts or …/echo/dist/children.js). */
export function rootDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  return here.replace(/conformance\/echo\/(dist\/)?$/, '');
}

/** The executable and arguments that run conformance/echo under `runtime`. */
export function command(runtime: Runtime, args: readonly string[]): [string, string[]] {
  const root = rootDir();
  const bin = (name: string): string => `${root}node_modules/.bin/${name}`;
  switch (runtime) {
    case 'node':
      return [process.execPath, [`${root}conformance/echo/dist/node.js`, ...args]];
    case 'bun':
      return [bin('bun'), ['--conditions=source', 'run', `${root}conformance/echo/bun.ts`, ...args]];
    case 'deno':
      return [bin('deno'), ['run', '--allow-net', `${root}conformance/echo/deno.ts`, ...args]];
  }
}

export function isRuntime(value: string | undefined): value is Runtime {
  return value === 'node' || value === 'bun' || value === 'deno';
}

/** A running child. */
export interface Child {
  readonly process: ChildProcess;
  /** Everything it wrote to stderr (its error log), and stdout after the first line. */
  readonly output: () => string;
  /** SIGTERM, then SIGKILL after `grace` ms; resolves when it has exited. */
  stop(grace?: number): Promise<void>;
}

function start(runtime: Runtime, args: readonly string[]): { child: Child; firstLine: Promise<string> } {
  const [file, argv] = command(runtime, args);
  const proc = spawn(file, argv, { cwd: rootDir(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const firstLine = new Promise<string>((resolve, reject) => {
    proc.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const end = stdout.indexOf('\n');
      if (end >= 0) resolve(stdout.slice(0, end).trim());
    });
    proc.once('error', reject);
    proc.once(
      'exit',
      (code, signal) =>
        reject(new Error(`${runtime} ${args.join(' ')} exited (${code ?? signal}):\n${stdout}${stderr}`)),
    );
  });
  firstLine.catch(() => {});
  proc.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const child: Child = {
    process: proc,
    output: () => stdout.slice(stdout.indexOf('\n') + 1) + stderr,
    async stop(grace = 3000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), grace);
      await exited;
      clearTimeout(timer);
    },
  };
  return { child, firstLine };
}

/** Starts an echo server under `runtime`; resolves once it printed its URL (within `timeout` ms). */
export async function startEcho(
  runtime: Runtime,
  options: { port?: number; compression?: boolean; tls?: boolean; timeout?: number } = {},
): Promise<Child & { url: string }> {
  const args = ['echo', '--port', String(options.port ?? 0)];
  if (options.compression === true) args.push('--compression');
  if (options.tls === true) args.push('--tls');
  const { child, firstLine } = start(runtime, args);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const url = await Promise.race([
      firstLine,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${runtime} echo: no URL within ${options.timeout ?? 60_000} ms`)),
          options.timeout ?? 60_000,
        );
      }),
    ]);
    if (!/^wss?:\/\//.test(url)) throw new Error(`${runtime} echo printed ${url}`);
    return Object.assign(child, { url: url.replace(/\/$/, '') });
  } catch (error) {
    await child.stop();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Runs the client driver under `runtime` against a fuzzing server; resolves with its exit status. */
export async function runClient(
  runtime: Runtime,
  url: string,
  agent: string,
  timeout = 600_000,
): Promise<{ code: number | null; output: string }> {
  const { child } = start(runtime, ['client', '--url', url, '--agent', agent]);
  const timer = setTimeout(() => void child.stop(), timeout);
  const code = await new Promise<number | null>((resolve) => {
    if (child.process.exitCode !== null) resolve(child.process.exitCode);
    else child.process.once('exit', (c) => resolve(c));
  });
  clearTimeout(timer);
  return { code, output: child.output() };
}
