/**
 * `npm run echo -- --runtime node|bun|deno --port N [--tls] [--compression]` and
 * `npm run conformance-client -- --runtime node|bun|deno --url ws://127.0.0.1:N [--agent NAME]`: runs
 * conformance/echo under the runtime asked for (a child process with this one's stdio), forwards SIGINT
 * and SIGTERM to it, and exits with its status.
 */

import { spawn } from 'node:child_process';
import process from 'node:process';
import { command, isRuntime } from './children.ts';

const [mode, ...rest] = process.argv.slice(2);
const at = rest.indexOf('--runtime');
const runtime = at >= 0 ? rest[at + 1] : undefined;
if ((mode !== 'echo' && mode !== 'client') || !isRuntime(runtime)) {
  console.error(
    'usage: launch.js echo --runtime node|bun|deno [--port N] [--tls] [--compression]\n' +
      '       launch.js client --runtime node|bun|deno --url ws://127.0.0.1:N [--agent NAME]',
  );
  process.exit(2);
}
const args = rest.filter((_, i) => i !== at && i !== at + 1);
if (mode === 'client' && !args.includes('--agent')) args.push('--agent', `sansws-${runtime}`);
const [file, argv] = command(runtime, [mode, ...args]);
const child = spawn(file, argv, { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal !== null ? 1 : 0)));
