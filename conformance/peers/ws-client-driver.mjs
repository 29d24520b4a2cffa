// Drives a fuzzing server (`sansws-conformance client`) with the npm `ws` client: reads the case count,
// runs every case by echoing each message until the server closes, then asks for the reports.
// permessage-deflate is offered (ws's client default). Usage: node ws-client-driver.mjs ws://127.0.0.1:9001 [agent]
import WebSocket from 'ws';

const base = process.argv[2] ?? 'ws://127.0.0.1:9001';
const agent = process.argv[3] ?? 'ws';

function open(path, onMessage) {
  return new Promise((resolve) => {
    const ws = new WebSocket(base + path, { perMessageDeflate: true, maxPayload: 64 * 1024 * 1024 });
    ws.on('message', (data, isBinary) => onMessage(ws, data, isBinary));
    ws.on('error', () => {});
    ws.on('close', () => resolve());
  });
}

let count = 0;
await open('/getCaseCount', (_ws, data) => (count = Number(data.toString())));
for (let i = 1; i <= count; i++) {
  await open(`/runCase?case=${i}&agent=${encodeURIComponent(agent)}`, (ws, data, isBinary) => {
    ws.send(data, { binary: isBinary });
  });
}
await open(`/updateReports?agent=${encodeURIComponent(agent)}`, () => {});
console.log(`ran ${count} cases`);
