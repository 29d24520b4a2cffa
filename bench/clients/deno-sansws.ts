/** Client benchmark: `@sansws/deno`'s `dial`. Usage: deno run --allow-net deno-sansws.ts <url> <cells JSON> */

import { dial } from '@sansws/deno';
import { runClientCells } from './common.mjs';

const [url = '', cells = '[]'] = Deno.args;
await runClientCells(
  async () => {
    const { conn } = await dial(url);
    let listener: (data: string | Uint8Array) => void = () => {};
    const reading = (async () => {
      for await (const message of conn) listener(message.data);
    })().catch(() => {});
    return {
      send: (data) => {
        conn.writeMessage(typeof data === 'string' ? 'text' : 'binary', data).catch(() => {});
      },
      onMessage: (l) => (listener = l),
      close: async () => {
        await conn.close(1000).catch(() => {});
        await reading;
      },
    };
  },
  JSON.parse(cells),
);
Deno.exit(0);
