/**
 * Conn under generated traffic, with `@sansws/testing`: `pipe()` pairs on a virtual clock, and fast-check
 * arbitraries for messages, chunkings, invalid frames and handshakes in place of hand-written frames and
 * fake peers. (`pipe()` builds its Conns from `@sansws/conn` as resolved by the test runner; assertions
 * here check codes and values, not class identity.)
 */

import {
  badHandshakeRequests,
  badHandshakeResponses,
  chunkings,
  encodeFrames,
  handshakeRequests,
  handshakeResponses,
  invalidFrames,
  MemoryTransport,
  messages,
  pipe,
  settle,
  traffic,
  VirtualClock,
} from '@sansws/testing';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dial, Upgrader } from '../src/mod.ts';

const runs = Number(process.env.SANSWS_FC_RUNS ?? 40);

describe('messages from the wire (RFC 6455 §5.4, §5.6)', () => {
  it('every generated message written by a raw client arrives intact, whatever the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        traffic({ maxMessages: 3, maxSize: 70_000 }).chain((t) =>
          fc.tuple(fc.constant(t), chunkings(encodeFrames(t.frames)))
        ),
        async ([t, chunks]) => {
          const { server, clientTransport } = await pipe();
          for (const chunk of chunks) clientTransport.write(chunk);
          for (const m of t.messages) {
            const got = await server.readMessage();
            expect(got.type).toBe(m.type);
            if (m.type === 'text') expect(got.data).toBe(m.text);
            else expect(Buffer.from(got.data as Uint8Array).equals(m.data)).toBe(true);
          }
        },
      ),
      { numRuns: runs },
    );
  });

  it('messages written with writeMessage come out of readMessage, both ways', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(messages({ maxSize: 2000 }), { maxLength: 4 }), async (list) => {
        const { server, client } = await pipe();
        for (const [from, to] of [[client, server], [server, client]] as const) {
          for (const m of list) await from.writeMessage(m.type, m.text ?? m.data);
          for (const m of list) {
            expect(await to.readMessage()).toEqual({ type: m.type, data: m.text ?? m.data });
          }
        }
      }),
      { numRuns: runs },
    );
  });
});

describe('invalid frames (RFC 6455 §7.4.1)', () => {
  it('a server Conn closes with the close code each kind calls for', async () => {
    await fc.assert(
      fc.asyncProperty(invalidFrames({ to: 'server' }), async (c) => {
        const { server, client, clientTransport } = await pipe();
        clientTransport.write(encodeFrames(c.frames));
        const error = await server.readMessage().catch((e: unknown) => e);
        expect(error, c.description).toMatchObject({ name: 'CloseError', closeCode: c.closeCode });
        expect((await client.closed).code).toBe(c.closeCode);
      }),
      { numRuns: runs },
    );
  });

  it('a client Conn closes with the close code each kind calls for', async () => {
    await fc.assert(
      fc.asyncProperty(invalidFrames({ to: 'client' }), async (c) => {
        const { client, serverTransport } = await pipe();
        serverTransport.write(encodeFrames(c.frames));
        const error = await client.readMessage().catch((e: unknown) => e);
        expect(error, c.description).toMatchObject({ name: 'CloseError', closeCode: c.closeCode });
      }),
      { numRuns: runs },
    );
  });
});

describe('Upgrader and dial against generated handshakes (RFC 6455 §4)', () => {
  /** Sends `request` to an Upgrader over a MemoryTransport; resolves with the outcome and the answer. */
  async function upgrade(request: Uint8Array) {
    const [serverTransport, peer] = MemoryTransport.pair();
    const received: Uint8Array[] = [];
    peer.start({ data: (c) => received.push(c), end: () => {}, drain: () => {}, closed: () => {} }, {
      writeHighWaterMark: 1 << 20,
    });
    const upgrader = new Upgrader({ timers: new VirtualClock() });
    const outcome = upgrader.upgradeTransport(serverTransport).catch((e: unknown) => e);
    peer.write(request);
    const result = await outcome;
    await settle();
    return { result, answer: Buffer.concat(received).toString('latin1') };
  }

  it('accepts every valid request and refuses every mutated one, never with 101', async () => {
    await fc.assert(
      fc.asyncProperty(handshakeRequests(), async (r) => {
        const { answer } = await upgrade(r.bytes);
        expect(answer).toMatch(/^HTTP\/1\.1 101 /);
      }),
      { numRuns: runs },
    );
    await fc.assert(
      fc.asyncProperty(badHandshakeRequests(), async (r) => {
        const { result, answer } = await upgrade(r.bytes);
        expect(answer, r.mutation!).toMatch(/^HTTP\/1\.1 4\d\d /);
        if (r.statusHint !== null) expect(answer.slice(9, 12), r.mutation!).toBe(String(r.statusHint));
        expect(result).toMatchObject({ name: 'HandshakeError' });
      }),
      { numRuns: runs * 2 },
    );
  });

  /** Dials a fake server that answers `response`; the key is fixed by a zero random source. */
  function dialAgainst(response: Uint8Array): Promise<unknown> {
    const [serverSide, clientSide] = MemoryTransport.pair();
    serverSide.start({
      data: () => {
        serverSide.write(response);
        serverSide.end();
      },
      end: () => {},
      drain: () => {},
      closed: () => {},
    }, { writeHighWaterMark: 1 << 20 });
    return dial('ws://example.com/', {
      timers: new VirtualClock(),
      subprotocols: ['chat', 'superchat'],
      randomBytes: (b) => b.fill(0),
      connect: () => Promise.resolve(clientSide),
    }).catch((e: unknown) => e);
  }
  const key = 'AAAAAAAAAAAAAAAAAAAAAA==';

  it('dial opens on every valid response and rejects every mutated one', async () => {
    await fc.assert(
      fc.asyncProperty(handshakeResponses({ key, subprotocols: ['chat', 'superchat'] }), async (r) => {
        const result = await dialAgainst(r.bytes);
        expect(result).toHaveProperty('conn');
        expect((result as { conn: { subprotocol: string | null } }).conn.subprotocol).toBe(r.subprotocol);
      }),
      { numRuns: runs },
    );
    await fc.assert(
      fc.asyncProperty(badHandshakeResponses({ key, subprotocols: ['chat'] }), async (r) => {
        expect(await dialAgainst(r.bytes), r.mutation!).toMatchObject({ name: 'HandshakeError' });
      }),
      { numRuns: runs },
    );
  });
});
