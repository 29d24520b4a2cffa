/**
 * Streams a process's output to the browser (gorilla/websocket's examples/command): each WebSocket at `/ws`
 * starts the command; every line it prints (stdout and stderr) becomes a text message, every message the
 * browser sends becomes a line on its stdin. When the process exits the socket closes with 1000 and the
 * exit status as reason; when the socket closes the process's stdin is closed, then it is terminated.
 *
 * It runs beside node:http, the way an existing server adds WebSockets: the page is an ordinary route, and
 * the server's `'upgrade'` event hands the socket to `upgrader.upgrade(req, socket, head)`.
 *
 * Backpressure end to end: the output is read with `for await`, which reads the pipe only when the last
 * line's `writeMessage` resolved, and that waits while the browser is slow to read. A command printing
 * faster than the network carries it simply blocks on its full pipe; nothing grows without bound.
 *
 * Run: `npm run build && node examples/dist/command.js [command [arg…]]` (default: `cat`), PORT default
 * 8080. Never expose a command such as a shell beyond your machine: this server binds 127.0.0.1, and the
 * Upgrader's same-origin check keeps other web sites from connecting.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { CloseError, type Conn, Upgrader } from '@sansws/node';

/** Options of {@link startCommandServer}. */
export interface CommandServerOptions {
  /** The command and its arguments, run once per connection. */
  readonly command: readonly [string, ...string[]];
  /** TCP port; 0 picks a free one. Default 8080. */
  readonly port?: number;
  /** Address to bind. Default `'127.0.0.1'`. */
  readonly host?: string;
  /** How long a process may take to exit once its stdin is closed, before SIGTERM (then SIGKILL). */
  readonly gracePeriod?: number;
}

/** A running command server. */
export interface CommandServer {
  /** The page's address, `http://host:port/`. */
  readonly url: string;
  /** The WebSocket endpoint, `ws://host:port/ws`. */
  readonly socketUrl: string;
  /** Closes every connection (1001), which ends their processes, and stops listening. */
  close(): Promise<void>;
}

/** Longest line sent as one message; longer lines are split. */
const MAX_LINE = 16 * 1024;

/** Starts the server; resolves once it is listening. */
export async function startCommandServer(options: CommandServerOptions): Promise<CommandServer> {
  const upgrader = new Upgrader({ maxMessageSize: 64 * 1024 });
  const running = new Set<Promise<void>>();
  const server: Server = createServer((req, res) => {
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not Found\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(page(options.command));
  });
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    // A refused handshake (bad origin, version…) was already answered; there is nothing left to do.
    upgrader.upgrade(req, socket, head).then((conn) => {
      const session = runCommand(conn, options).catch((error: unknown) => console.error('command:', error));
      running.add(session);
      void session.then(() => running.delete(session));
    }, () => {});
  });
  server.listen(options.port ?? 8080, options.host ?? '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { address, port } = server.address() as AddressInfo;
  const origin = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
  return {
    url: `${origin}/`,
    socketUrl: `${origin.replace('http', 'ws')}/ws`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await upgrader.shutdown({ reason: 'server shutting down', timeout: 2000 });
      await Promise.all(running);
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Runs the command for one connection, until both are over. */
async function runCommand(conn: Conn, options: CommandServerOptions): Promise<void> {
  const [file, ...args] = options.command;
  const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<string>((resolve) => {
    child.once('error', (error) => resolve(`failed to start: ${error.message}`));
    child.once('exit', (code, signal) => resolve(signal !== null ? `killed by ${signal}` : `exit ${code}`));
  });
  child.stdin.on('error', () => {}); // EPIPE when the process exits before reading its input

  // Socket → stdin, until the socket closes. Writes to stdin wait for the pipe to drain.
  const input = (async () => {
    try {
      for await (const message of conn) {
        const line = typeof message.data === 'string' ? message.data : new TextDecoder().decode(message.data);
        if (!child.stdin.write(line + '\n')) await waitForDrain(child);
      }
    } catch (error) {
      if (!(error instanceof CloseError)) throw error;
    } finally {
      child.stdin.end();
    }
  })();

  // stdout and stderr → socket, line by line, in the order the lines were read.
  const output = Promise.all([pump(child.stdout, conn), pump(child.stderr, conn)]);

  const stopWhenClosed = conn.closed.then(() => stop(child, options.gracePeriod ?? 1000, exited));
  const status = await exited;
  await output;
  if (conn.state === 'open') await conn.close(1000, closeReason(status));
  await Promise.all([input, stopWhenClosed]);
}

/** A close reason is at most 123 bytes of UTF-8 (RFC 6455 §5.5: control payloads ≤ 125 bytes). */
function closeReason(text: string): string {
  const encoder = new TextEncoder();
  let reason = text;
  while (encoder.encode(reason).length > 123) reason = reason.slice(0, -1);
  return reason;
}

/** Sends each line of `stream` as a text message; reads on only when the write was accepted. */
async function pump(stream: Readable, conn: Conn): Promise<void> {
  const decoder = new TextDecoder();
  let pending = '';
  const send = async (line: string): Promise<void> => {
    for (let i = 0; i < line.length || i === 0; i += MAX_LINE) {
      await conn.writeMessage('text', line.slice(i, i + MAX_LINE));
    }
  };
  try {
    for await (const chunk of stream as AsyncIterable<Uint8Array>) {
      pending += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        await send(pending.slice(0, newline).replace(/\r$/, ''));
        pending = pending.slice(newline + 1);
      }
    }
    pending += decoder.decode();
    if (pending !== '') await send(pending);
  } catch (error) {
    // The socket closed under us: stop reading and let the process be stopped.
    if (!(error instanceof CloseError)) throw error;
    stream.destroy();
  }
}

function waitForDrain(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      child.stdin?.off('drain', done);
      child.stdin?.off('close', done);
      resolve();
    };
    child.stdin?.once('drain', done);
    child.stdin?.once('close', done);
  });
}

/** After the socket closed: the process had its stdin closed; give it `grace` ms, then SIGTERM, SIGKILL. */
async function stop(child: ChildProcess, grace: number, exited: Promise<string>): Promise<void> {
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), grace)));
    const gone = await Promise.race([exited.then(() => false), late]);
    clearTimeout(timer);
    if (!gone) return;
    child.kill(signal);
  }
  await exited;
}

function page(command: readonly string[]): string {
  const title = command.join(' ').replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  // A JSON string is a JavaScript string literal; escaping '<' keeps '</script>' out of the page.
  const script = JSON.stringify(command.join(' ')).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>sansws command: ${title}</title>
<style>
  body { font: 14px/1.4 ui-monospace, monospace; margin: 0; display: flex; flex-direction: column; height: 100vh; }
  #output { flex: 1; overflow-y: auto; margin: 0; padding: .5em 1em; background: #111; color: #ddd; }
  form { display: flex; padding: .5em 1em; gap: .5em; }
  #input { flex: 1; font: inherit; }
</style>
</head>
<body>
<pre id="output"></pre>
<form id="form" autocomplete="off"><input id="input" placeholder="a line for stdin" autofocus><button>Send</button></form>
<script>
  const output = document.getElementById('output');
  const input = document.getElementById('input');
  const url = new URL('/ws', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(url);
  const append = (text) => {
    output.append(text + '\\n');
    output.scrollTop = output.scrollHeight;
  };
  append('$ ' + ${script});
  socket.onmessage = (event) => append(event.data);
  socket.onclose = (event) => append('[connection closed: ' + event.code + ' ' + event.reason + ']');
  document.getElementById('form').addEventListener('submit', (event) => {
    event.preventDefault();
    if (socket.readyState === WebSocket.OPEN) socket.send(input.value);
    input.value = '';
  });
</script>
</body>
</html>
`;
}

/** Whether this file is the program being run (`node examples/dist/…js`), rather than imported. */
function isMain(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false; // not a file: `node -e`, a REPL
  }
}

if (isMain()) {
  const [file = 'cat', ...args] = process.argv.slice(2);
  const server = await startCommandServer({
    command: [file, ...args],
    port: Number(process.env['PORT'] ?? 8080),
  });
  console.log(`running \`${[file, ...args].join(' ')}\` for each visitor of ${server.url}; Ctrl-C to stop`);
  const stop = (): void => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
