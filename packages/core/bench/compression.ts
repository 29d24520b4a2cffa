/**
 * permessage-deflate benchmark: the engine's compressed round trip (send, frame, receive, validate,
 * decode) beside a plain round trip through the same codec with no WebSocket framing, in one process and
 * one run, interleaved, median of several rounds. Run: `npm run bench:compression` in packages/core.
 *
 * Both contenders do the same non-framing work: encode the string to UTF-8, deflate with a sync flush
 * (kept context), inflate, decode to a string. What the engine adds is framing, masking (client → server),
 * incremental UTF-8 validation and its bookkeeping: that is the overhead reported.
 */

import { ClientConnection, ServerConnection } from '@sansws/core';
import { clientPerMessageDeflate, serverPerMessageDeflate } from '@sansws/core/deflate';
import { zlibCodec } from '@sansws/zlib';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 3 : 7;
const CELL_MS = quick ? 150 : 400;

function jsonLike(size: number): string {
  const items: string[] = [];
  let length = 2;
  for (let i = 0; length < size; i++) {
    const item = JSON.stringify({
      id: i,
      user: `user-${i % 97}`,
      tags: ['a', 'b', String(i % 13)],
      score: (i * 7919) % 1000 / 10,
    });
    items.push(item);
    length += item.length + 1;
  }
  return `[${items.join(',')}]`.slice(0, size - 1) + ']';
}

function pair(): { server: ServerConnection; client: ClientConnection } {
  const compression = { codec: zlibCodec, serverMaxWindowBits: 15, threshold: 0 };
  const client = new ClientConnection({
    url: 'ws://127.0.0.1/',
    compression: clientPerMessageDeflate(compression),
    maxMessageSize: 1 << 30,
  });
  const server = new ServerConnection({
    compression: serverPerMessageDeflate(compression),
    maxMessageSize: 1 << 30,
  });
  for (const chunk of client.takeOutput()) server.receiveData(chunk);
  server.accept();
  for (const chunk of server.takeOutput()) client.receiveData(chunk);
  server.takeEvents();
  client.takeEvents();
  return { server, client };
}

type Runner = () => void;

function engineRoundTrip(direction: 'server → client' | 'client → server', text: string): Runner {
  const { server, client } = pair();
  const [from, to] = direction === 'server → client' ? [server, client] : [client, server];
  return () => {
    from.sendText(text);
    for (const chunk of from.takeOutput()) to.receiveData(chunk);
    const events = to.takeEvents();
    if (events.length !== 1 || events[0]!.type !== 'text' || events[0]!.data.length !== text.length) {
      throw new Error('engine round trip lost the message');
    }
  };
}

function codecRoundTrip(text: string): Runner {
  const deflater = zlibCodec.createDeflater({ windowBits: 15, level: 6, memLevel: 8 })!;
  const inflater = zlibCodec.createInflater({ windowBits: 15 });
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  return () => {
    const compressed = deflater.deflate(encoder.encode(text));
    const pieces: Uint8Array[] = [];
    inflater.inflate(compressed, 1 << 30, (chunk) => pieces.push(chunk));
    const whole = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
    if (decoder.decode(whole).length !== text.length) throw new Error('codec round trip lost the message');
  };
}

/** Messages per second for `run`, over about CELL_MS. */
function measure(run: Runner): number {
  for (let i = 0; i < 3; i++) run();
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < CELL_MS) {
    run();
    n++;
    now = performance.now();
  }
  return (n * 1000) / (now - start);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const sizes = [1024, 64 * 1024, 1024 * 1024];
const rows: string[] = [];
const results: Record<string, unknown>[] = [];
for (const size of sizes) {
  const text = jsonLike(size);
  const contenders: Record<string, Runner> = {
    'codec only': codecRoundTrip(text),
    'engine server → client': engineRoundTrip('server → client', text),
    'engine client → server': engineRoundTrip('client → server', text),
  };
  const rates: Record<string, number[]> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of Object.entries(contenders)) (rates[name] ??= []).push(measure(run));
  }
  const base = median(rates['codec only']!);
  for (const name of Object.keys(contenders)) {
    const rate = median(rates[name]!);
    const overhead = base / rate - 1;
    results.push({ size, name, messagesPerSecond: rate, overhead });
    rows.push(
      `| ${size >= 1 << 20 ? `${size >> 20} MiB` : `${size >> 10} KiB`} | ${name} | ${rate.toFixed(0)} | ${
        ((rate * size) / 1e6).toFixed(1)
      } | ${name === 'codec only' ? '—' : `${(overhead * 100).toFixed(1)}%`} |`,
    );
  }
}

console.log(
  `permessage-deflate round trips, node ${process.version}, median of ${ROUNDS} interleaved rounds`,
);
console.log('| message | contender | messages/s | MB/s | framing overhead vs codec |');
console.log('| --- | --- | --- | --- | --- |');
for (const row of rows) console.log(row);
if (process.argv.includes('--json')) console.log(JSON.stringify(results));
