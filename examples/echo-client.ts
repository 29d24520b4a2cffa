/**
 * An echo client (gorilla/websocket's examples/echo, client half): dials the server, sends each message
 * given on the command line (or a few defaults), prints what comes back, measures a ping's round trip and
 * closes with 1000.
 *
 * Run: `node examples/dist/echo-client.js [ws://127.0.0.1:8080/] [message…]`.
 */

import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { dial } from '@sansws/node';

/** Sends each message, waits for its echo, and reports every step through `print`. Returns the echoes. */
export async function runEchoClient(
  url: string,
  messages: readonly string[],
  print: (line: string) => void = console.log,
): Promise<string[]> {
  // A refused handshake rejects with a HandshakeError that carries the status, headers and body.
  const { conn, response } = await dial(url, { compression: true, handshakeTimeout: 5000 });
  print(
    `connected to ${url}: ${response.status} ${response.reason}, extensions ${conn.extensions ?? 'none'}`,
  );
  const echoes: string[] = [];
  try {
    for (const text of messages) {
      await conn.writeMessage('text', text);
      const reply = await conn.readMessage({ signal: AbortSignal.timeout(5000) });
      const shown = reply.type === 'text' ? reply.data : `<${reply.data.length} bytes>`;
      echoes.push(shown);
      print(`sent ${JSON.stringify(text)}, received ${JSON.stringify(shown)}`);
    }
    const rtt = await conn.ping(new TextEncoder().encode('are you there?'));
    print(`ping round trip: ${rtt.toFixed(2)} ms`);
  } finally {
    const { code, clean } = await conn.close(1000, 'bye');
    print(`closed: ${code}${clean ? ' (clean)' : ''}`);
  }
  return echoes;
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
  const [url = 'ws://127.0.0.1:8080/', ...rest] = process.argv.slice(2);
  const messages = rest.length > 0 ? rest : ['hello', 'héllo, wörld', 'ping? pong!'];
  await runEchoClient(url, messages).catch((error: unknown) => {
    console.error(`echo client: ${String(error)}`);
    process.exitCode = 1;
  });
}
