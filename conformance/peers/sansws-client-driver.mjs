// Drives a fuzzing server (`sansws-conformance client`) with our core engine's ClientConnection on a raw
// node:net socket, offering permessage-deflate (@sansws/zlib): reads the case count, echoes every message of
// each case while the connection is open, then asks for the reports. Build first (tsc -b at the root).
// Usage: node sansws-client-driver.mjs ws://127.0.0.1:9001 [agent]
import { runRawEchoClient } from '../../examples/dist/raw-client.js';
import { zlibCodec } from '../../packages/zlib/dist/mod.js';

const base = process.argv[2] ?? 'ws://127.0.0.1:9001';
const agent = process.argv[3] ?? 'sansws-core';
const drive = (url, onText) =>
  runRawEchoClient(url, { maxMessageSize: 16 * 1024 * 1024, compression: { codec: zlibCodec } }, onText);

let count = 0;
await drive(`${base}/getCaseCount`, (text) => (count = Number(text)));
for (let i = 1; i <= count; i++) await drive(`${base}/runCase?case=${i}&agent=${encodeURIComponent(agent)}`);
await drive(`${base}/updateReports?agent=${encodeURIComponent(agent)}`);
console.log(`ran ${count} cases`);
