/**
 * bufferutil's native `mask` under Bun (an optional dependency of `@sansws/bun`): it loads through Bun's
 * N-API, does what the core's contract asks (RFC 6455 §5.3: XOR with the key from `key[0]`, views at any
 * offset, in place or into another buffer), and is what `Upgrader` and `dial` pass the engine by default;
 * our server and client, masking through it, exchange a large message over loopback.
 */

import { describe, expect, test } from 'bun:test';
import type { Masker } from '@sansws/core';
import { nativeMask } from '../src/bufferutil.ts';
import { dial, listen, Upgrader } from '../src/mod.ts';

const KEY = Uint8Array.of(0x3c, 0xa1, 0x07, 0xfe);

describe("bufferutil's native mask on Bun", () => {
  test('loads natively, and is the Upgrader default; mask: undefined turns it off', () => {
    const mask = nativeMask();
    expect(typeof mask).toBe('function');
    expect(Function.prototype.toString.call(mask)).toContain('[native code]');
    expect(new Upgrader().options.mask).toBe(mask);
    expect(new Upgrader({ mask: undefined }).options.mask).toBeUndefined();
  });

  test('RFC 6455 §5.3: views at any offset, in place and into another buffer, as the RFC defines', () => {
    const mask = nativeMask() as Masker;
    const backing = new Uint8Array(70_000).map((_, i) => (i * 29 + 5) & 0xff);
    for (const size of [8192, 8195, 65_536]) {
      for (const offset of [0, 1, 2, 7]) {
        const source = new Uint8Array(backing.buffer, offset, size);
        const expected = source.map((b, i) => b ^ KEY[i & 3]!);
        const out = new Uint8Array(size + 9);
        mask(source, KEY, out, 3, size);
        expect(out.subarray(3, 3 + size)).toEqual(expected);
        const copy = new Uint8Array(backing.buffer.slice(0));
        const view = new Uint8Array(copy.buffer, offset, size);
        mask(view, KEY, view, 0, size);
        expect(view).toEqual(expected);
      }
    }
  });

  test('RFC 6455 §5.3: a server and a client masking through it echo a large message', async () => {
    let maskedBytes = 0;
    const native = nativeMask() as Masker;
    const counting: Masker = (source, key, output, offset, length) => {
      maskedBytes += length;
      native(source, key, output, offset, length);
    };
    const server = await listen({
      upgrader: new Upgrader({ mask: counting }),
      handler: async (conn) => {
        for await (const message of conn) await conn.writeMessage(message.type, message.data);
      },
    });
    try {
      const { conn } = await dial(server.url, { mask: counting });
      const payload = new Uint8Array(300_000).map((_, i) => (i * 11) & 0xff);
      await conn.writeMessage('binary', payload);
      expect((await conn.readMessage()).data).toEqual(payload);
      // The client masked it whole and the server unmasked it, through the masker (but for pieces below
      // 8 KiB, where a read cuts the frame: at most two).
      expect(maskedBytes).toBeGreaterThan(2 * payload.length - 2 * 8192);
      expect(maskedBytes).toBeLessThanOrEqual(2 * payload.length);
      await conn.close(1000);
    } finally {
      await server.shutdown({ timeout: 1000 });
    }
  });
});
