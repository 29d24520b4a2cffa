/**
 * Heap per idle engine: `node --expose-gc bench/dist/idle.js [N]` (after `npx tsc -p bench/tsconfig.json`).
 *
 * Creates N server engines, completes each one's opening handshake with a client engine, drops the
 * clients, and reports (heapUsed after − heapUsed before) / N with full GCs around both measurements:
 * what an open, idle `ServerConnection` keeps alive. Then the same for N engines that have also received
 * one 16-byte binary message and sent it back (as `bench/idle.mjs`'s connections do), events and output
 * taken: what is left behind by having been used. Issue #8's target is per idle connection, socket and
 * Conn included; this measures the engine's share of it.
 */

import process from 'node:process';
import { ClientConnection, ServerConnection } from '@sansws/core';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const n = Number(process.argv[2] ?? 10_000);

function settle(): number {
  for (let i = 0; i < 4; i++) gc!();
  return process.memoryUsage().heapUsed;
}

function open(echo: boolean): ServerConnection {
  const client = new ClientConnection({ url: 'ws://example.com/chat' });
  const server = new ServerConnection();
  for (const chunk of client.takeOutput()) server.receiveData(chunk);
  server.accept();
  for (const chunk of server.takeOutput()) client.receiveData(chunk);
  server.takeEvents();
  client.takeEvents();
  if (server.state !== 'open' || client.state !== 'open') throw new Error('handshake failed');
  if (echo) {
    client.sendBinary(new Uint8Array(16));
    for (const chunk of client.takeOutput()) server.receiveData(chunk);
    const [message] = server.takeEvents();
    if (message?.type !== 'binary') throw new Error('no message');
    server.sendBinary(message.data);
    for (const chunk of server.takeOutput()) client.receiveData(chunk);
    if (client.takeEvents().length !== 1) throw new Error('no echo');
  }
  return server;
}

/** Heap per engine of `n` engines kept alive. */
function measure(echo: boolean): number {
  const before = settle();
  const engines: ServerConnection[] = [];
  for (let i = 0; i < n; i++) engines.push(open(echo));
  const after = settle();
  if (engines.length !== n) throw new Error('unreachable');
  return (after - before - n * 8) / n; // less the array slot holding each
}

// Warm-up pairs, so that module-level tables and compiled code are not counted.
for (let i = 0; i < 100; i++) open(i % 2 === 0);
const idle = measure(false);
const used = measure(true);
console.log(`${n} idle server engines: ${idle.toFixed(0)} bytes of heap each (heapUsed, gc exposed)`);
console.log(`${n} idle server engines after one echoed 16 B message: ${used.toFixed(0)} bytes of heap each`);
