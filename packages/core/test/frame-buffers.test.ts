/**
 * Where the engine builds its outgoing frames: frames of 65 B to 16 KiB + 8 are cut one after another from a
 * shared slab (one allocation for many frames, and a run of them can be written as one view), smaller and
 * larger ones get buffers of their own. What must hold either way: every frame is whole and stays as it
 * was written while later frames are made, on this connection or any other, and a caller's payload is
 * never written to.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runs } from './fc-runs.ts';
import { zlibCodec } from '../../zlib/src/mod.ts';
import { clientPerMessageDeflate, serverPerMessageDeflate } from '../src/deflate-entry.ts';
import {
  concatBytes,
  decoderAccepts,
  openPair,
  openServer,
  parseFrames,
  sameBytes,
  serverFrames,
} from './helpers.ts';

const payload = (length: number, seed: number): Uint8Array =>
  Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);

/** An `allocateFrame` that cuts one piece after another from a 4 MiB buffer and records the sizes asked for. */
function bumpAllocator() {
  const arena = new ArrayBuffer(4 << 20);
  const asked: number[] = [];
  let used = 0;
  const allocateFrame = (n: number): Uint8Array => {
    asked.push(n);
    const out = new Uint8Array(arena, used, n);
    used += n;
    return out;
  };
  return { arena, asked, allocateFrame };
}

/** True when `b` starts right where `a` ends, in the same buffer. */
const follows = (a: Uint8Array, b: Uint8Array): boolean =>
  a.buffer === b.buffer && a.byteOffset + a.length === b.byteOffset;

describe('outgoing frame buffers (RFC 6455 §5.2)', () => {
  it('§5.2 small server frames sent one after another lie next to each other, each a whole frame', () => {
    const server = openServer();
    const sent = [1024, 200, 4096, 65 - 2, 16 * 1024].map((n, i) => payload(n, i));
    for (const data of sent) server.sendBinary(data);
    const out = server.takeOutput();
    expect(out.length).toBe(sent.length);
    for (let i = 1; i < out.length; i++) expect(follows(out[i - 1]!, out[i]!)).toBe(true);
    expect(serverFrames(out).map((f) => f.payload)).toEqual(sent);
  });

  it('§5.2 frames under 65 bytes and over 16 KiB + 8 get buffers of their own', () => {
    const { client, server } = openPair();
    // A server's frames of 2 to 64 bytes, then a client's of 16 KiB + 1 (its header is 8 bytes there): larger
    // payloads than 16 KiB are copied, masked, only by a client.
    const cases = [[server, 0], [server, 10], [server, 62], [client, 16 * 1024 + 1]] as const;
    for (const [from, n] of cases) {
      const data = payload(n, n);
      from.sendBinary(data);
      const [chunk] = from.takeOutput();
      expect(chunk!.byteOffset).toBe(0);
      expect(chunk!.buffer.byteLength).toBe(chunk!.length);
      if (from === server) expect(serverFrames([chunk!])[0]!.payload).toEqual(data);
      else {
        server.receiveData(chunk!.slice());
        expect(server.takeEvents()).toEqual([{ type: 'binary', data }]);
      }
    }
  });

  it('§5.3 small client frames come from the slab too, masked, and the payload is left as it was', () => {
    const { client, server } = openPair();
    const sent = [300, 1500, 80].map((n, i) => payload(n, i + 7));
    const copies = sent.map((p) => p.slice());
    for (const data of sent) client.sendBinary(data);
    const out = client.takeOutput();
    for (let i = 1; i < out.length; i++) expect(follows(out[i - 1]!, out[i]!)).toBe(true);
    expect(sent).toEqual(copies);
    for (const chunk of out) server.receiveData(chunk.slice());
    expect(server.takeEvents().map((e) => (e.type === 'binary' ? e.data : e.type))).toEqual(copies);
  });

  it('§5.6 text of up to 65,536 UTF-16 units goes through the shared scratch buffers, never kept there', () => {
    const { client, server } = openPair();
    // 4,097 and 16,384 units (scratch); 6,000 three-byte characters, 18,000 bytes (over 16 KiB: sliced out of
    // the scratch, so referenced by a server's frame); 16,385 and 40,000 units (sliced out); 65,537 units
    // (encoded on their own).
    const texts = [
      'a'.repeat(4097),
      'é'.repeat(8192),
      '€'.repeat(6000),
      'b'.repeat(16385),
      'z'.repeat(16384),
      'é'.repeat(40000),
      'c'.repeat(65537),
    ];
    for (const from of [server, client]) {
      const kept: Uint8Array[][] = [];
      for (const text of texts) {
        from.sendText(text);
        kept.push(from.takeOutput());
      }
      const to = from === server ? client : server;
      for (const chunks of kept) to.receiveData(concatBytes(chunks));
      expect(to.takeEvents().map((e) => (e.type === 'text' ? e.data : e.type))).toEqual(texts);
    }
  });

  it('§5.6 short texts of every encoded length up to 1,100 bytes carry their own bytes, before and after long ones', () => {
    // The scratch's views of up to 1,024 bytes are made once per length and shared by every send: each frame
    // must still hold the text it was made for, also after texts long enough to need the whole scratch.
    const { client, server } = openPair();
    for (const from of [server, client]) {
      const to = from === server ? client : server;
      for (const long of ['', 'é'.repeat(60_000)]) {
        if (long !== '') from.sendText(long);
        const texts: string[] = [];
        for (let n = 0; n <= 1100; n++) {
          // Alternating contents and widths: a stale or shared view would show the previous text's bytes.
          texts.push(
            n % 3 === 0
              ? 'é'.repeat(n >> 1) + 'x'.repeat(n & 1)
              : String.fromCharCode(97 + (n % 26)).repeat(n),
          );
        }
        for (const text of texts) from.sendText(text);
        to.receiveData(concatBytes(from.takeOutput()));
        const got = to.takeEvents().map((e) => (e.type === 'text' ? e.data : e.type));
        expect(got).toEqual(long === '' ? texts : [long, ...texts]);
      }
    }
  });

  it('§5.2 a frame is never changed by frames made after it, on any connection (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            conn: fc.integer({ min: 0, max: 2 }),
            size: fc.oneof(
              fc.integer({ min: 0, max: 5000 }),
              fc.integer({ min: 60, max: 70 }),
              fc.integer({ min: 16 * 1024 - 8, max: 16 * 1024 + 8 }),
            ),
            text: fc.boolean(),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        (sends) => {
          const pairs = [openPair(), openPair(), openPair()];
          // Every frame kept as handed out, and what it held then; compared after all the other sends. A
          // frame of more than 16 KiB comes as two chunks (its header, then the payload itself) from a server, and
          // from a client when the payload is the engine's own (encoded text, masked in place).
          const kept: { chunks: Uint8Array[]; copies: Uint8Array[]; sent: Uint8Array }[] = [];
          sends.forEach(({ conn, size, text }, i) => {
            const { server, client } = pairs[conn]!;
            const from = i % 2 === 0 ? server : client;
            const sent = text ? new TextEncoder().encode('é'.repeat(size >> 1)) : payload(size, i);
            if (text) from.sendText('é'.repeat(size >> 1));
            else from.sendBinary(sent);
            const out = from.takeOutput();
            expect(out.length).toBe(sent.length > 16 * 1024 && (from === server || text) ? 2 : 1);
            kept.push({ chunks: out, copies: out.map((chunk) => chunk.slice()), sent });
          });
          for (const { chunks, copies, sent } of kept) {
            expect(chunks.every((chunk, k) => sameBytes(chunk, copies[k]!))).toBe(true);
            const frames = parseFrames(concatBytes(chunks));
            expect(frames.length).toBe(1);
            expect(sameBytes(frames[0]!.payload, sent)).toBe(true);
          }
        },
      ),
      { numRuns: Math.max(50, Math.floor(runs / 10)) },
    );
  });

  it('§5.2 allocateFrame gives the buffers of copied frames, server and client; large payloads stay referenced', () => {
    const { arena, asked, allocateFrame } = bumpAllocator();
    const { client, server } = openPair({ allocateFrame }, { allocateFrame });
    const small = payload(10, 1);
    const mid = payload(16 * 1024, 2);
    const large = payload(16 * 1024 + 1, 3);
    for (const data of [small, mid, large]) server.sendBinary(data);
    const out = server.takeOutput();
    // Header + payload for the two copied frames; a header of its own (not asked for) and the payload itself.
    expect(asked).toEqual([2 + 10, 4 + 16 * 1024]);
    expect(out.length).toBe(4);
    expect(out[0]!.buffer).toBe(arena);
    expect(out[1]!.buffer).toBe(arena);
    expect(out[3]).toBe(large);
    expect(serverFrames(out).map((f) => f.payload)).toEqual([small, mid, large]);
    client.sendText('héllo');
    expect(asked.at(-1)).toBe(6 + 6);
    const [masked] = client.takeOutput();
    expect(masked!.buffer).toBe(arena);
    server.receiveData(masked!.slice());
    expect(server.takeEvents()).toEqual([{ type: 'text', data: 'héllo' }]);
  });

  it("§5.2 an allocateFrame that throws or answers wrongly costs a buffer of the engine's own, never a bad frame", () => {
    const answers: Array<(n: number) => unknown> = [
      () => {
        throw new Error('broken');
      },
      (n) => new Uint8Array(n + 1),
      (n) => new Uint8Array(Math.max(0, n - 1)),
      (n) => new Array(n).fill(0),
      () => undefined,
    ];
    for (const answer of answers) {
      const server = openServer({ allocateFrame: answer as (n: number) => Uint8Array });
      const sent = [payload(3, 1), payload(700, 2), payload(16 * 1024, 3)];
      for (const data of sent) server.sendBinary(data);
      const out = server.takeOutput();
      expect(serverFrames(out).map((f) => f.payload)).toEqual(sent);
      for (const chunk of out) expect(chunk.byteOffset).toBe(0);
    }
  });

  it('§5.6 with allocateFrame, text of up to 65,536 UTF-16 units is encoded in a shared scratch and copied into its frame', () => {
    const { arena, asked, allocateFrame } = bumpAllocator();
    const { client, server } = openPair({ allocateFrame }, { allocateFrame });
    // 16,385 units (over 16 KiB), 30,000 three-byte characters (90,000 bytes), 65,536 units; then
    // 65,537 units: encoded on its own and referenced as before.
    const texts = ['a'.repeat(16385), '€'.repeat(30000), 'zé'.repeat(32768), 'b'.repeat(65537)];
    for (const from of [server, client]) {
      const kept: { chunks: Uint8Array[]; copies: Uint8Array[] }[] = [];
      for (const text of texts) {
        asked.length = 0;
        from.sendText(text);
        const chunks = from.takeOutput();
        kept.push({ chunks, copies: chunks.map((c) => c.slice()) });
        const bytes = new TextEncoder().encode(text).length;
        if (text.length <= 65536) {
          // One frame, header and payload, in the allocator's buffer.
          expect(chunks.length).toBe(1);
          expect(chunks[0]!.buffer).toBe(arena);
          expect(asked).toEqual([chunks[0]!.length]);
          expect(chunks[0]!.length).toBe(bytes + (bytes > 65535 ? 10 : 4) + (from === client ? 4 : 0));
        } else {
          expect(chunks[0]!.buffer).not.toBe(arena);
        }
      }
      // Each frame as it was made: later texts, encoded in the same scratch, changed none of them.
      for (const { chunks, copies } of kept) expect(chunks).toEqual(copies);
      const to = from === server ? client : server;
      for (const { chunks } of kept) to.receiveData(concatBytes(chunks).slice());
      expect(to.takeEvents().map((e) => (e.type === 'text' ? e.data : e.type))).toEqual(texts);
    }
  });

  it('§5.4 text sent with `fragment` goes out in fragments of at most 65,536 UTF-16 units, in frames of allocateFrame', () => {
    const { arena, asked, allocateFrame } = bumpAllocator();
    const { client, server } = openPair({ allocateFrame }, { allocateFrame });
    // Exactly 65,536 units: one frame. Then 65,537 ASCII units (two fragments), a surrogate pair across the
    // 65,536-unit mark (never split), and 200,000 units of three-byte characters (four fragments).
    const texts = ['a'.repeat(65536), 'b'.repeat(65537), 'c'.repeat(65535) + '😀' + 'd', '€'.repeat(200000)];
    for (const from of [server, client]) {
      const kept: { chunks: Uint8Array[]; copies: Uint8Array[] }[] = [];
      for (const text of texts) {
        asked.length = 0;
        from.sendText(text, { fragment: true });
        const chunks = from.takeOutput();
        kept.push({ chunks, copies: chunks.map((c) => c.slice()) });
        const frames = parseFrames(concatBytes(chunks));
        expect(frames.length).toBe(Math.ceil(text.length / 65536));
        // RFC 6455 §5.4: the text opcode first, continuation frames after it, FIN on the last only.
        expect(frames.map((f) => f.opcode)).toEqual(frames.map((_, i) => (i === 0 ? 1 : 0)));
        expect(frames.map((f) => f.fin)).toEqual(frames.map((_, i) => i === frames.length - 1));
        // Each fragment is whole UTF-8 (no code point cut), and together they are the text.
        for (const f of frames) expect(decoderAccepts(f.payload)).toBe(true);
        expect(sameBytes(concatBytes(frames.map((f) => f.payload)), new TextEncoder().encode(text))).toBe(
          true,
        );
        for (const chunk of chunks) expect(chunk.buffer).toBe(arena);
        expect(asked.length).toBe(frames.length);
      }
      // Later texts, encoded in the same scratch, changed none of the frames.
      for (const { chunks, copies } of kept) {
        expect(chunks.every((c, i) => sameBytes(c, copies[i]!))).toBe(true);
      }
      const to = from === server ? client : server;
      for (const { chunks } of kept) to.receiveData(concatBytes(chunks).slice());
      expect(to.takeEvents().map((e) => (e.type === 'text' ? e.data : e.type))).toEqual(texts);
    }
  });

  it('§5.4 text sent with `fragment` is never compressed (RFC 7692 §6: RSV1 clear on every frame)', () => {
    const { server } = openPair(
      { compression: serverPerMessageDeflate({ codec: zlibCodec }) },
      { compression: clientPerMessageDeflate({ codec: zlibCodec }) },
    );
    const text = 'x'.repeat(70000);
    server.sendText(text);
    expect(serverFrames(server.takeOutput()).map((f) => [f.rsv1, f.fin])).toEqual([[true, true]]);
    server.sendText(text, { fragment: true });
    expect(serverFrames(server.takeOutput()).map((f) => [f.rsv1, f.fin])).toEqual([[false, false], [
      false,
      true,
    ]]);
  });

  it('§5.4 any long string sent with `fragment` arrives as sent, encoded as TextEncoder encodes it (property)', () => {
    fc.assert(
      fc.property(
        // Any UTF-16 units, lone surrogates included, repeated past 65,536 units after any head.
        fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
        fc.string({ unit: 'binary', maxLength: 6 }),
        fc.integer({ min: 65531, max: 140000 }),
        (piece, head, length) => {
          const text = head + piece.repeat(Math.ceil(length / piece.length)).slice(0, length);
          const encoded = new TextEncoder().encode(text);
          const { client, server } = openPair();
          for (const [from, to] of [[server, client], [client, server]] as const) {
            from.sendText(text, { fragment: true });
            const chunks = from.takeOutput();
            expect(sameBytes(concatBytes(parseFrames(concatBytes(chunks)).map((f) => f.payload)), encoded))
              .toBe(true);
            to.receiveData(concatBytes(chunks));
            expect(to.takeEvents()).toEqual([{ type: 'text', data: new TextDecoder().decode(encoded) }]);
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});
