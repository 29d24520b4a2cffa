/**
 * The engine alone: a client engine and a server engine, connected in memory, perform the opening
 * handshake, exchange a few messages, ping, and close — printing every byte that crosses the "wire". No
 * socket, no timer: this is all the core is. Run: `npm run build && node examples/dist/engine-demo.js`.
 */

import { ClientConnection, type Connection, ServerConnection, type WebSocketEvent } from '@sansws/core';

const decoder = new TextDecoder();
let clock = 0;

function show(bytes: Uint8Array): string {
  const hex = Array.from(bytes.subarray(0, 24), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return bytes.length > 24 ? `${hex} … (${bytes.length} bytes)` : `${hex} (${bytes.length} bytes)`;
}

function describe(event: WebSocketEvent): string {
  switch (event.type) {
    case 'request':
      return `request ${event.request.method} ${event.request.target}`;
    case 'response':
      return `response ${event.response.status} ${event.response.reason}`;
    case 'text':
      return `text ${JSON.stringify(event.data)}`;
    case 'binary':
      return `binary [${event.data.join(', ')}]`;
    case 'ping':
    case 'pong':
      return `${event.type} ${JSON.stringify(decoder.decode(event.data))}${
        event.type === 'pong' && event.rtt !== undefined ? ` rtt=${event.rtt}ms` : ''
      }`;
    case 'close':
    case 'closed':
      return `${event.type} code=${event.code} reason=${JSON.stringify(event.reason)}${
        event.type === 'closed' ? ` clean=${event.clean}` : ''
      }`;
    default:
      return JSON.stringify(event);
  }
}

/** Moves bytes from one engine to the other, printing them, and prints the events they caused. */
function deliver(from: Connection, to: Connection): void {
  const arrow = from.role === 'client' ? 'client → server' : 'server → client';
  for (const chunk of from.takeOutput()) {
    const printable = to.state === 'connecting' && chunk[0] !== 0x81 && chunk[0] !== 0x82;
    console.log(`  ${arrow}: ${printable ? JSON.stringify(decoder.decode(chunk)) : show(chunk)}`);
    to.receiveData(chunk.slice(), clock);
  }
  if (from.transportAction !== 'none') console.log(`  ${from.role} ${from.transportAction}s the transport`);
  for (const event of to.takeEvents()) console.log(`    ${to.role} event: ${describe(event)}`);
}

const client = new ClientConnection({ url: 'ws://127.0.0.1:8080/chat', subprotocols: ['chat.v1'] });
const server = new ServerConnection({ subprotocols: ['chat.v1'] });

console.log('opening handshake (RFC 6455 §4)');
deliver(client, server);
server.accept();
for (const event of server.takeEvents()) console.log(`    server event: ${describe(event)}`);
deliver(server, client);

console.log('messages');
client.sendText('Hello, sansws!');
deliver(client, server);
server.sendText('Hello, client. Échos: ✓');
server.sendBinary(Uint8Array.of(1, 2, 3, 4));
deliver(server, client);

console.log('a streamed message, one frame per chunk');
client.sendMessageStart('text');
for (const piece of ['stream', 'ed ', 'text']) client.sendMessageChunk(piece);
client.sendMessageEnd();
deliver(client, server);

console.log('ping / pong with round-trip time (on a virtual clock)');
client.handleTimeout(clock);
client.sendPing(new TextEncoder().encode('hi'));
deliver(client, server);
clock += 3;
deliver(server, client);

console.log('closing handshake (RFC 6455 §7)');
client.close(1000, 'bye');
deliver(client, server);
deliver(server, client);
client.receiveEof();
for (const event of client.takeEvents()) console.log(`    client event: ${describe(event)}`);
