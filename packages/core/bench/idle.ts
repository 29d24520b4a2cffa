/**
 * Heap per idle engine: `node --expose-gc bench/dist/idle.js [N]` (after `npx tsc -p bench/tsconfig.json`).
 *
 * Creates N server engines, completes each one's opening handshake with a client engine, drops the
 * clients, and reports (heapUsed after − heapUsed before) / N with full GCs around both measurements:
 * what an open, idle `ServerConnection` keeps alive. Issue #8's target is per idle connection, socket and
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

// One warm-up pair, so that module-level tables and compiled code are not counted.
function open(): ServerConnection {
  const client = new ClientConnection({ url: 'ws://example.com/chat' });
  const server = new ServerConnection();
  for (const chunk of client.takeOutput()) server.receiveData(chunk);
  server.accept();
  for (const chunk of server.takeOutput()) client.receiveData(chunk);
  server.takeEvents();
  client.takeEvents();
  if (server.state !== 'open' || client.state !== 'open') throw new Error('handshake failed');
  return server;
}
open();

const before = settle();
const engines: ServerConnection[] = [];
for (let i = 0; i < n; i++) engines.push(open());
const after = settle();
const perEngine = (after - before - n * 8) / n; // less the array slot holding each
console.log(`${n} idle server engines: ${perEngine.toFixed(0)} bytes of heap each (heapUsed, gc exposed)`);
if (engines.length !== n) throw new Error('unreachable');
