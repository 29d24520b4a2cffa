import { Buffer } from 'node:buffer';
import { deflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createZlibCodec, zlibCodec } from '../../zlib/src/mod.ts';
import {
  acceptDeflateResponse,
  type DeflateCodec,
  deflateOfferHeader,
  type DeflateOptions,
  type DeflateParams,
  negotiateDeflate,
  PerMessageDeflate,
} from '../src/deflate.ts';
import { HandshakeError, UsageError } from '../src/errors.ts';
import { runs } from './fc-runs.ts';
import { type WsDeflateOptions, wsExtension, WsPerMessageDeflate } from './ws-internals.ts';

const { parse: wsParse, format: wsFormat } = wsExtension;

const PLAIN: DeflateParams = {
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
};
const TRAILER = [0x00, 0x00, 0xff, 0xff];
const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const json = (n: number, seed = 0): Uint8Array =>
  text(
    JSON.stringify(
      Array.from({ length: n }, (_, i) => ({ id: i + seed, name: `item-${i}`, ok: i % 3 === 0 })),
    ),
  );
const concat = (chunks: readonly Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(chunks));

/** Server-side negotiation with the window cap at 15, so that answers show only what the offer asked. */
const negotiate = (values: string[], options: DeflateOptions = {}) =>
  negotiateDeflate(values, { serverMaxWindowBits: 15, ...options });

function expectHandshakeError(f: () => unknown, status: number): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(HandshakeError);
    expect((e as HandshakeError).code).toBe('INVALID_EXTENSIONS');
    expect((e as HandshakeError).status).toBe(status);
    return;
  }
  expect.unreachable('no HandshakeError');
}

/** Inflates one whole message through `rx`, returning its status and payload. */
function receive(rx: PerMessageDeflate, payload: Uint8Array, budget = Infinity) {
  const out: Uint8Array[] = [];
  const status = rx.decompress(payload, true, budget, (c) => out.push(c));
  return { status, data: concat(out) };
}

describe('RFC 7692 §5, §7.1: server-side negotiation (negotiateDeflate)', () => {
  it('accepts a bare offer, answering with exactly what was agreed', () => {
    expect(negotiate(['permessage-deflate'])).toEqual({ header: 'permessage-deflate', params: PLAIN });
  });

  it('caps its own window at 12 by default, saying so unasked (§7.1.2.1)', () => {
    expect(negotiateDeflate(['permessage-deflate'])).toEqual({
      header: 'permessage-deflate; server_max_window_bits=12',
      params: { ...PLAIN, serverMaxWindowBits: 12 },
    });
  });

  describe('§7.1.1.1 server_no_context_takeover', () => {
    it('grants it when offered', () => {
      expect(negotiate(['permessage-deflate; server_no_context_takeover'])).toEqual({
        header: 'permessage-deflate; server_no_context_takeover',
        params: { ...PLAIN, serverNoContextTakeover: true },
      });
    });
    it('declares it unasked when configured', () => {
      expect(negotiate(['permessage-deflate'], { serverNoContextTakeover: true })?.header).toBe(
        'permessage-deflate; server_no_context_takeover',
      );
    });
    it('declines an offer giving it a value', () => {
      expect(negotiate(['permessage-deflate; server_no_context_takeover=1'])).toBeNull();
    });
  });

  describe('§7.1.1.2 client_no_context_takeover', () => {
    it('echoes it when offered', () => {
      expect(negotiate(['permessage-deflate; client_no_context_takeover'])).toEqual({
        header: 'permessage-deflate; client_no_context_takeover',
        params: { ...PLAIN, clientNoContextTakeover: true },
      });
    });
    it('requires it unasked when configured', () => {
      expect(
        negotiate(['permessage-deflate'], { clientNoContextTakeover: true })?.params.clientNoContextTakeover,
      ).toBe(
        true,
      );
    });
    it('declines an offer giving it a value', () => {
      expect(negotiate(['permessage-deflate; client_no_context_takeover="x"'])).toBeNull();
    });
  });

  describe('§7.1.2.1 server_max_window_bits', () => {
    it('accepts the offered value when it is within our cap', () => {
      expect(negotiate(['permessage-deflate; server_max_window_bits=10'])).toEqual({
        header: 'permessage-deflate; server_max_window_bits=10',
        params: { ...PLAIN, serverMaxWindowBits: 10 },
      });
      expect(negotiateDeflate(['permessage-deflate; server_max_window_bits=8'])?.params.serverMaxWindowBits)
        .toBe(8);
    });
    it('answers a smaller value than offered when our cap is lower', () => {
      expect(negotiateDeflate(['permessage-deflate; server_max_window_bits=14'])?.header).toBe(
        'permessage-deflate; server_max_window_bits=12',
      );
    });
    it('accepts the quoted form', () => {
      expect(negotiate(['permessage-deflate; server_max_window_bits="9"'])?.params.serverMaxWindowBits).toBe(
        9,
      );
    });
    for (const bad of ['7', '16', '08', '010', '1e1', '+9', '9.0', '-9']) {
      it(`declines the out-of-range or malformed value ${bad}`, () => {
        expect(negotiate([`permessage-deflate; server_max_window_bits=${bad}`])).toBeNull();
      });
    }
    it('declines an offer where it has no value', () => {
      expect(negotiate(['permessage-deflate; server_max_window_bits'])).toBeNull();
    });
  });

  describe('§7.1.2.2 client_max_window_bits', () => {
    it('leaves a valueless offer unanswered when we set no limit (the client then uses 15)', () => {
      expect(negotiate(['permessage-deflate; client_max_window_bits'])).toEqual({
        header: 'permessage-deflate',
        params: PLAIN,
      });
    });
    it('answers a valueless offer with our limit', () => {
      expect(negotiate(['permessage-deflate; client_max_window_bits'], { clientMaxWindowBits: 10 })).toEqual({
        header: 'permessage-deflate; client_max_window_bits=10',
        params: { ...PLAIN, clientMaxWindowBits: 10 },
      });
    });
    it('echoes an offered value, lowered to our limit', () => {
      expect(negotiate(['permessage-deflate; client_max_window_bits=9'])?.header).toBe(
        'permessage-deflate; client_max_window_bits=9',
      );
      expect(
        negotiate(['permessage-deflate; client_max_window_bits=13'], { clientMaxWindowBits: 11 })?.header,
      ).toBe(
        'permessage-deflate; client_max_window_bits=11',
      );
    });
    it('never answers it when the offer lacks it, whatever our limit', () => {
      expect(negotiate(['permessage-deflate'], { clientMaxWindowBits: 9 })).toEqual({
        header: 'permessage-deflate',
        params: PLAIN,
      });
    });
    it('declines an out-of-range value', () => {
      expect(negotiate(['permessage-deflate; client_max_window_bits=16'])).toBeNull();
      expect(negotiate(['permessage-deflate; client_max_window_bits=7'])).toBeNull();
    });
  });

  it('answers every parameter at once, in a fixed order', () => {
    expect(
      negotiate([
        'permessage-deflate; client_max_window_bits; server_max_window_bits=11; client_no_context_takeover; server_no_context_takeover',
      ], { clientMaxWindowBits: 9 })?.header,
    ).toBe(
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=11; client_max_window_bits=9',
    );
  });

  describe('§5: unacceptable offers are skipped for the next one', () => {
    it('skips an offer with a duplicated parameter', () => {
      expect(
        negotiate([
          'permessage-deflate; server_no_context_takeover; server_no_context_takeover, permessage-deflate',
        ])
          ?.header,
      ).toBe('permessage-deflate');
      expect(negotiate(['permessage-deflate; client_max_window_bits; client_max_window_bits=10'])).toBeNull();
    });
    it('skips an offer with an unknown parameter', () => {
      expect(
        negotiate(['permessage-deflate; x_unknown, permessage-deflate; client_no_context_takeover'])?.header,
      ).toBe(
        'permessage-deflate; client_no_context_takeover',
      );
    });
    it('takes the first acceptable offer across several header fields', () => {
      expect(
        negotiate([
          'x-other, permessage-deflate; server_max_window_bits=99',
          'permessage-deflate; server_max_window_bits=9',
        ])
          ?.header,
      ).toBe('permessage-deflate; server_max_window_bits=9');
    });
  });

  describe('declining', () => {
    it('declines when no permessage-deflate offer is made', () => {
      expect(negotiate([])).toBeNull();
      expect(negotiate(['x-webkit-deflate-frame', 'foo; bar'])).toBeNull();
    });
    it('declines when disabled, without even parsing the header', () => {
      expect(negotiateDeflate(['permessage-deflate', ';;;'], { enabled: false })).toBeNull();
    });
    it('asks the per-request policy, passing the request', () => {
      const seen: string[] = [];
      const options = { enabled: (path: string) => (seen.push(path), path !== '/raw') };
      expect(negotiateDeflate(['permessage-deflate'], options, '/raw')).toBeNull();
      expect(negotiateDeflate(['permessage-deflate'], options, '/chat')).not.toBeNull();
      expect(seen).toEqual(['/raw', '/chat']);
    });
  });

  it('rejects a malformed header with HandshakeError INVALID_EXTENSIONS, status 400', () => {
    expectHandshakeError(() => negotiate(['permessage-deflate; server_max_window_bits="1 0"']), 400);
    expectHandshakeError(() => negotiate(['permessage-deflate', 'a;']), 400);
  });

  it('rejects out-of-range options with UsageError INVALID_ARGUMENT', () => {
    for (
      const bad of [{ serverMaxWindowBits: 7 }, { clientMaxWindowBits: 16 }, { level: 10 }, { memLevel: 0 }, {
        threshold: -1,
      }, { serverMaxWindowBits: 9.5 }]
    ) {
      expect(() => negotiateDeflate(['permessage-deflate'], bad)).toThrow(UsageError);
      expect(() => deflateOfferHeader(bad)).toThrow(UsageError);
    }
  });
});

describe('RFC 7692 §5, §7.1: client-side negotiation', () => {
  describe('deflateOfferHeader', () => {
    it('offers client_max_window_bits without a value by default (any window 8..15 is fine)', () => {
      expect(deflateOfferHeader()).toBe('permessage-deflate; client_max_window_bits');
    });
    it('requests and announces every parameter', () => {
      expect(
        deflateOfferHeader({
          serverNoContextTakeover: true,
          clientNoContextTakeover: true,
          serverMaxWindowBits: 10,
          clientMaxWindowBits: 9,
        }),
      ).toBe(
        'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9',
      );
    });
    it('leaves client_max_window_bits out when told to', () => {
      expect(deflateOfferHeader({ clientMaxWindowBits: false })).toBe('permessage-deflate');
    });
  });

  describe('acceptDeflateResponse', () => {
    it('returns null when the server declined', () => {
      expect(acceptDeflateResponse([])).toBeNull();
      expect(acceptDeflateResponse([''])).toBeNull();
    });
    it('accepts a bare acceptance', () => {
      expect(acceptDeflateResponse(['permessage-deflate'])).toEqual(PLAIN);
    });
    it('§7.1.1.1: accepts server_no_context_takeover, asked or not', () => {
      expect(acceptDeflateResponse(['permessage-deflate; server_no_context_takeover'])).toEqual({
        ...PLAIN,
        serverNoContextTakeover: true,
      });
    });
    it('§7.1.1.1: fails when a requested server_no_context_takeover is missing', () => {
      expectHandshakeError(
        () => acceptDeflateResponse(['permessage-deflate'], { serverNoContextTakeover: true }),
        101,
      );
    });
    it('§7.1.1.2: accepts client_no_context_takeover unasked, and keeps our own promise unechoed', () => {
      expect(
        acceptDeflateResponse(['permessage-deflate; client_no_context_takeover'])?.clientNoContextTakeover,
      ).toBe(
        true,
      );
      expect(
        acceptDeflateResponse(['permessage-deflate'], { clientNoContextTakeover: true })
          ?.clientNoContextTakeover,
      )
        .toBe(true);
    });
    it('§7.1.2.1: accepts server_max_window_bits unasked, or at most what we asked', () => {
      expect(acceptDeflateResponse(['permessage-deflate; server_max_window_bits=8'])?.serverMaxWindowBits)
        .toBe(8);
      expect(
        acceptDeflateResponse(['permessage-deflate; server_max_window_bits=9'], { serverMaxWindowBits: 10 }),
      )
        .toEqual({ ...PLAIN, serverMaxWindowBits: 9 });
    });
    it('§7.1.2.1: fails on server_max_window_bits above our request, or missing when requested', () => {
      expectHandshakeError(
        () =>
          acceptDeflateResponse(['permessage-deflate; server_max_window_bits=11'], {
            serverMaxWindowBits: 10,
          }),
        101,
      );
      expectHandshakeError(
        () => acceptDeflateResponse(['permessage-deflate'], { serverMaxWindowBits: 10 }),
        101,
      );
    });
    it('§7.1.2.2: takes the client window the server picked, or the one we announced', () => {
      expect(acceptDeflateResponse(['permessage-deflate; client_max_window_bits=8'])?.clientMaxWindowBits)
        .toBe(8);
      expect(acceptDeflateResponse(['permessage-deflate'], { clientMaxWindowBits: 11 })?.clientMaxWindowBits)
        .toBe(11);
      expect(
        acceptDeflateResponse(['permessage-deflate; client_max_window_bits=10'], { clientMaxWindowBits: 11 })
          ?.clientMaxWindowBits,
      ).toBe(10);
    });
    it('§7.1.2.2: fails on client_max_window_bits we did not offer, above our offer, or without a value', () => {
      expectHandshakeError(
        () =>
          acceptDeflateResponse(['permessage-deflate; client_max_window_bits=10'], {
            clientMaxWindowBits: false,
          }),
        101,
      );
      expectHandshakeError(
        () =>
          acceptDeflateResponse(['permessage-deflate; client_max_window_bits=12'], {
            clientMaxWindowBits: 11,
          }),
        101,
      );
      expectHandshakeError(() => acceptDeflateResponse(['permessage-deflate; client_max_window_bits']), 101);
    });
    it('fails on out-of-range values', () => {
      for (const v of ['7', '16', '015', 'x']) {
        expectHandshakeError(
          () => acceptDeflateResponse([`permessage-deflate; server_max_window_bits=${v}`]),
          101,
        );
        expectHandshakeError(
          () => acceptDeflateResponse([`permessage-deflate; client_max_window_bits=${v}`]),
          101,
        );
      }
    });
    it('fails on an unknown or duplicated parameter, or a value where none belongs', () => {
      for (
        const h of [
          'permessage-deflate; foo',
          'permessage-deflate; server_no_context_takeover; server_no_context_takeover',
          'permessage-deflate; server_max_window_bits=10; server_max_window_bits=10',
          'permessage-deflate; client_no_context_takeover=1',
        ]
      ) {
        expectHandshakeError(() => acceptDeflateResponse([h]), 101);
      }
    });
    it('RFC 6455 §4.1: fails on an extension we did not offer, or permessage-deflate accepted twice', () => {
      expectHandshakeError(() => acceptDeflateResponse(['x-foo']), 101);
      expectHandshakeError(() => acceptDeflateResponse(['permessage-deflate', 'x-foo']), 101);
      expectHandshakeError(() => acceptDeflateResponse(['permessage-deflate, permessage-deflate']), 101);
    });
    it('fails on a malformed header', () => {
      expectHandshakeError(() => acceptDeflateResponse(['permessage-deflate;']), 101);
    });
  });

  it('client and server agree on the same parameters, whatever both sides configure', () => {
    const side = fc.record({
      serverNoContextTakeover: fc.boolean(),
      clientNoContextTakeover: fc.boolean(),
      serverMaxWindowBits: fc.option(fc.integer({ min: 8, max: 15 }), { nil: undefined }),
      clientMaxWindowBits: fc.option(fc.oneof(fc.integer({ min: 8, max: 15 }), fc.constant(false as const)), {
        nil: undefined,
      }),
    });
    fc.assert(
      fc.property(side, side, (client, server) => {
        const clientOptions = stripUndefined(client);
        const serverOptions = stripUndefined(server);
        const result = negotiateDeflate([deflateOfferHeader(clientOptions)], serverOptions);
        // Our server never declines our client's offers: it lowers windows rather than refusing them.
        expect(result).not.toBeNull();
        const agreed = acceptDeflateResponse([result!.header], clientOptions);
        expect(agreed).toEqual(result!.params);
      }),
      { numRuns: runs },
    );
  });
});

function stripUndefined(o: object): DeflateOptions {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as DeflateOptions;
}

describe('RFC 7692 §7.2: compressing and decompressing messages', () => {
  const pair = (params = PLAIN, options: DeflateOptions = {}) => ({
    tx: new PerMessageDeflate(params, 'server', zlibCodec, options),
    rx: new PerMessageDeflate(params, 'client', zlibCodec, options),
  });

  it('§7.2.3.1: "Hello" compresses to f2 48 cd c9 c9 07 00, trailer removed (§7.2.1)', () => {
    const { tx, rx } = pair();
    const payload = tx.compress(text('Hello'), true);
    expect([...payload]).toEqual([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    expect(receive(rx, payload)).toEqual({ status: 'ok', data: text('Hello') });
  });

  it('§7.2.3.2: with context takeover a repeated "Hello" refers back to the first one', () => {
    const rx = new PerMessageDeflate(PLAIN, 'client', zlibCodec);
    expect(receive(rx, bytes(0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00)).data).toEqual(text('Hello'));
    expect(receive(rx, bytes(0xf2, 0x00, 0x11, 0x00, 0x00)).data).toEqual(text('Hello'));
    const tx = new PerMessageDeflate(PLAIN, 'server', zlibCodec);
    tx.compress(text('Hello'), true);
    expect([...tx.compress(text('Hello'), true)]).toEqual([0xf2, 0x00, 0x11, 0x00, 0x00]);
  });

  it('§7.2.3.3: decodes a DEFLATE block with no compression', () => {
    const rx = new PerMessageDeflate(PLAIN, 'client', zlibCodec);
    const stored = bytes(0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00);
    expect(receive(rx, stored)).toEqual({ status: 'ok', data: text('Hello') });
  });

  it('§7.2.3.4: decodes a block with BFINAL set, then the next message on a fresh stream', () => {
    const rx = new PerMessageDeflate(PLAIN, 'client', zlibCodec);
    expect(receive(rx, bytes(0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00))).toEqual({
      status: 'ok',
      data: text('Hello'),
    });
    expect(receive(rx, bytes(0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00))).toEqual({
      status: 'ok',
      data: text('Hello'),
    });
    // The same, with the BFINAL block and the padding octet in different frames.
    const out: Uint8Array[] = [];
    expect(rx.decompress(bytes(0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00), false, 100, (c) => out.push(c)))
      .toBe('ok');
    expect(rx.decompress(bytes(0x00), true, 100, (c) => out.push(c))).toBe('ok');
    expect(concat(out)).toEqual(text('Hello'));
    expect(receive(rx, bytes(0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00)).data).toEqual(text('Hello'));
  });

  it('§7.2.3.5: decodes two DEFLATE blocks in one message', () => {
    const rx = new PerMessageDeflate(PLAIN, 'client', zlibCodec);
    const twoBlocks = bytes(0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00);
    expect(receive(rx, twoBlocks)).toEqual({ status: 'ok', data: text('Hello') });
  });

  it('§7.2.3.6: an empty message is the single octet 00, both ways, and fragments may be empty', () => {
    const { tx, rx } = pair();
    expect([...tx.compress(new Uint8Array(0), true)]).toEqual([0x00]);
    expect(receive(rx, bytes(0x00))).toEqual({ status: 'ok', data: new Uint8Array(0) });
    const first = tx.compress(text('Hello'), false);
    const middle = tx.compress(new Uint8Array(0), false);
    const last = tx.compress(new Uint8Array(0), true);
    expect(middle.length).toBe(0);
    const out: Uint8Array[] = [];
    for (const [piece, fin] of [[first, false], [middle, false], [last, true]] as const) {
      expect(rx.decompress(piece, fin, 100, (c) => out.push(c))).toBe('ok');
    }
    expect(concat(out)).toEqual(text('Hello'));
  });

  it('§7.2.1: a fragmented message is one DEFLATE stream, sync-flushed per fragment', () => {
    const { tx, rx } = pair();
    const m = json(200);
    const fragments = [m.subarray(0, 1000), m.subarray(1000, 3000), m.subarray(3000)];
    const frames = fragments.map((f, i) => tx.compress(f, i === fragments.length - 1));
    for (const f of frames.slice(0, -1)) expect([...f.subarray(-4)]).toEqual(TRAILER);
    const out: Uint8Array[] = [];
    frames.forEach((f, i) =>
      expect(rx.decompress(f, i === frames.length - 1, Infinity, (c) => out.push(c))).toBe('ok')
    );
    expect(concat(out)).toEqual(m);
  });

  it('§7.1.1: context takeover really carries the window across messages, and no_context_takeover drops it', () => {
    const m = json(100);
    const takeover = new PerMessageDeflate(PLAIN, 'server', zlibCodec);
    const first = takeover.compress(m, true).length;
    expect(takeover.compress(m, true).length).toBeLessThan(first / 10);
    const fresh = new PerMessageDeflate({ ...PLAIN, serverNoContextTakeover: true }, 'server', zlibCodec);
    const a = fresh.compress(m, true);
    const b = fresh.compress(m, true);
    expect(b).toEqual(a);
    // A client whose server has no context takeover decodes each message on its own.
    const rx = new PerMessageDeflate({ ...PLAIN, serverNoContextTakeover: true }, 'client', zlibCodec);
    expect(receive(rx, a).data).toEqual(m);
    expect(receive(rx, b).data).toEqual(m);
  });

  it("reports 'invalid' for malformed data, and for everything after", () => {
    const rx = new PerMessageDeflate(PLAIN, 'client', zlibCodec);
    expect(receive(rx, bytes(0xff, 0xff, 0xff)).status).toBe('invalid');
    expect(receive(rx, bytes(0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00)).status).toBe('invalid');
  });

  describe('shouldCompress', () => {
    it('skips messages under the threshold: 32 bytes with context takeover, 128 without', () => {
      const keep = new PerMessageDeflate(PLAIN, 'server', zlibCodec);
      expect(keep.shouldCompress(31, true)).toBe(false);
      expect(keep.shouldCompress(32, true)).toBe(true);
      const drop = new PerMessageDeflate({ ...PLAIN, serverNoContextTakeover: true }, 'server', zlibCodec);
      expect(drop.shouldCompress(127, true)).toBe(false);
      expect(drop.shouldCompress(128, true)).toBe(true);
      // The client's own setting is what counts for the client.
      expect(
        new PerMessageDeflate({ ...PLAIN, serverNoContextTakeover: true }, 'client', zlibCodec)
          .shouldCompress(32, true),
      )
        .toBe(true);
    });
    it('honours an explicit threshold, and compresses streamed messages whatever their first fragment', () => {
      const pmd = new PerMessageDeflate(PLAIN, 'server', zlibCodec, { threshold: 1000 });
      expect(pmd.shouldCompress(999, true)).toBe(false);
      expect(pmd.shouldCompress(1, false)).toBe(true);
      expect(new PerMessageDeflate(PLAIN, 'server', zlibCodec, { threshold: 0 }).shouldCompress(0, true))
        .toBe(true);
    });
    it('sends everything uncompressed when the codec cannot honour the agreed window', () => {
      const picky: DeflateCodec = {
        createDeflater: (o) => (o.windowBits < 15 ? null : zlibCodec.createDeflater(o)),
        createInflater: (o) => zlibCodec.createInflater(o),
      };
      const pmd = new PerMessageDeflate({ ...PLAIN, serverMaxWindowBits: 8 }, 'server', picky);
      expect(pmd.shouldCompress(10_000, true)).toBe(false);
      expect(() => pmd.compress(text('x'), true)).toThrow(UsageError);
      // Receiving is unaffected.
      expect(receive(pmd, bytes(0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00)).data).toEqual(text('Hello'));
    });
  });

  it('creates the deflater and the inflater lazily, and release() frees both', () => {
    const made: string[] = [];
    const closed: string[] = [];
    const spy: DeflateCodec = {
      createDeflater(o) {
        made.push('deflater');
        const d = zlibCodec.createDeflater(o);
        return {
          deflate: (x) => d.deflate(x),
          reset: () => d.reset(),
          close: () => (closed.push('deflater'), d.close()),
        };
      },
      createInflater(o) {
        made.push('inflater');
        const i = zlibCodec.createInflater(o);
        return {
          inflate: (x, m, f) => i.inflate(x, m, f),
          reset: () => i.reset(),
          close: () => (closed.push('inflater'), i.close()),
        };
      },
    };
    const pmd = new PerMessageDeflate(PLAIN, 'server', spy);
    expect(made).toEqual([]);
    expect(pmd.shouldCompress(10, true)).toBe(false);
    expect(made).toEqual([]);
    receive(pmd, bytes(0x00));
    expect(made).toEqual(['inflater']);
    pmd.compress(text('Hello'), true);
    expect(made).toEqual(['inflater', 'deflater']);
    pmd.release();
    expect(closed.sort()).toEqual(['deflater', 'inflater']);
    expect(() => pmd.compress(text('x'), true)).toThrow(UsageError);
    expect(() => receive(pmd, bytes(0x00))).toThrow(UsageError);
    pmd.release();
  });

  it('rejects out-of-range params', () => {
    expect(() => new PerMessageDeflate({ ...PLAIN, clientMaxWindowBits: 16 }, 'server', zlibCodec)).toThrow(
      UsageError,
    );
  });
});

describe('decompression bombs: the limit counts decompressed bytes, enforced while inflating', () => {
  /** 64 MiB of zeros, compressed to about 64 KiB. */
  const bomb = new Uint8Array(deflateRawSync(new Uint8Array(64 * 1024 * 1024), { level: 9, finishFlush: 2 }));
  const payload = bomb.subarray(0, bomb.length - 4); // as a peer would send it (§7.2.1)
  const budget = 1024 * 1024;

  for (
    const [name, codec] of [['zlib codec', zlibCodec], [
      'zlib codec, portable bound',
      createZlibCodec({ portableBound: true }),
    ]] as const
  ) {
    it(`${name}: one 64 KiB frame inflating to 64 MiB against a 1 MiB budget is 'too-big', ≤ 1 MiB passed on`, () => {
      const rx = new PerMessageDeflate(PLAIN, 'client', codec);
      let delivered = 0;
      const before = process.memoryUsage().arrayBuffers;
      const status = rx.decompress(payload, true, budget, (c) => (delivered += c.length));
      const allocated = process.memoryUsage().arrayBuffers - before;
      expect(status).toBe('too-big');
      expect(delivered).toBeLessThanOrEqual(budget);
      // Slack: one 16 KiB output chunk (native bound) or 66 KiB (portable bound), plus the input copy.
      expect(allocated).toBeLessThan(budget + 2 * 1024 * 1024);
      expect(rx.decompress(bytes(0x00), true, budget, () => {})).toBe('invalid');
    });

    it(`${name}: the same bomb in 4 KiB frames, with the budget shrinking as data is passed on`, () => {
      const rx = new PerMessageDeflate(PLAIN, 'client', codec);
      let delivered = 0;
      let status = 'ok';
      for (let o = 0; o < payload.length && status === 'ok'; o += 4096) {
        const end = Math.min(o + 4096, payload.length);
        status = rx.decompress(payload.subarray(o, end), end === payload.length, budget - delivered, (c) => {
          delivered += c.length;
        });
      }
      expect(status).toBe('too-big');
      expect(delivered).toBeLessThanOrEqual(budget);
    });
  }

  it('never passes on more than the budget even if a codec ignores maxOutput', () => {
    const careless: DeflateCodec = {
      createDeflater: (o) => zlibCodec.createDeflater(o),
      createInflater(o) {
        const i = zlibCodec.createInflater(o);
        return {
          inflate: (x, _max, f) => i.inflate(x, Infinity, f),
          reset: () => i.reset(),
          close: () => i.close(),
        };
      },
    };
    const rx = new PerMessageDeflate(PLAIN, 'client', careless);
    const m = json(500);
    let delivered = 0;
    const status = rx.decompress(deflateRawSync(m), true, 1000, (c) => (delivered += c.length));
    expect(status).toBe('too-big');
    expect(delivered).toBeLessThanOrEqual(1000);
  });
});

// ---------------------------------------------------------------------------------------------------------

const paramsArb: fc.Arbitrary<DeflateParams> = fc.record({
  serverNoContextTakeover: fc.boolean(),
  clientNoContextTakeover: fc.boolean(),
  serverMaxWindowBits: fc.integer({ min: 8, max: 15 }),
  clientMaxWindowBits: fc.integer({ min: 8, max: 15 }),
});

/** Text and binary, compressible and not: repeated words, JSON, runs of one byte, random bytes. */
const messageArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.string({ maxLength: 300 }).map(text),
  fc.array(fc.constantFrom('{"id":', '"name":"', 'alpha', 'bravo', '},', ' ', '0', '42'), { maxLength: 400 })
    .map((
      w,
    ) => text(w.join(''))),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 3000 })).map(([b, n]) =>
    new Uint8Array(n).fill(b)
  ),
  fc.uint8Array({ maxLength: 2000 }),
);

/** Cuts `data` at the given fractions (sorted), into consecutive pieces, empty ones included. */
function cut(data: Uint8Array, fractions: readonly number[]): Uint8Array[] {
  const points = fractions.map((f) => Math.floor(f * data.length)).sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    pieces.push(data.subarray(from, p));
    from = p;
  }
  pieces.push(data.subarray(from));
  return pieces;
}

const cutsArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 });

describe('properties (RFC 7692 §7.2, over many messages on one context)', () => {
  it('whatever the params, fragmentation and arrival pieces, every message comes back intact', () => {
    fc.assert(
      fc.property(
        paramsArb,
        fc.constantFrom('server', 'client'),
        fc.array(messageArb, { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(), cutsArb, fc.array(cutsArb, { maxLength: 5 })), {
          minLength: 1,
          maxLength: 10,
        }),
        (params, role, pool, plan) => {
          const tx = new PerMessageDeflate(params, role, zlibCodec, { threshold: 0 });
          const rx = new PerMessageDeflate(params, role === 'server' ? 'client' : 'server', zlibCodec);
          // Messages are drawn from a small pool, so repeats make context takeover matter.
          for (const [pick, fragmentCuts, arrivalCuts] of plan) {
            const m = pool[pick % pool.length]!;
            const fragments = cut(m, fragmentCuts);
            const out: Uint8Array[] = [];
            let received = 0;
            fragments.forEach((fragment, i) => {
              const fin = i === fragments.length - 1;
              const frame = tx.compress(fragment, fin);
              const pieces = cut(frame, arrivalCuts[i] ?? []);
              pieces.forEach((piece, j) => {
                // The budget is exactly what the message may still grow by: the whole message must fit.
                const status = rx.decompress(
                  piece,
                  fin && j === pieces.length - 1,
                  m.length - received,
                  (c) => {
                    received += c.length;
                    out.push(c);
                  },
                );
                expect(status).toBe('ok');
              });
            });
            expect(concat(out)).toEqual(m);
          }
          tx.release();
          rx.release();
        },
      ),
      { numRuns: runs },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// Interoperability with the npm `ws` package's own permessage-deflate

const wsCall = (pmd: WsPerMessageDeflate, op: 'compress' | 'decompress', data: Uint8Array, fin: boolean) =>
  new Promise<Uint8Array>((resolve, reject) =>
    pmd[op](Buffer.from(data), fin, (err, out) => (err ? reject(err) : resolve(new Uint8Array(out!))))
  );

const interopMessages = [
  text('Hello'),
  json(300),
  json(300, 1),
  new Uint8Array(5000).fill(7),
  Uint8Array.from({ length: 3000 }, (_, i) => (i * 2654435761) >>> 24),
  json(40, 2),
  new Uint8Array(0),
  json(1000, 3),
];

const interopSettings: Array<
  { name: string; ours: DeflateOptions; theirs: WsDeflateOptions; agreed: Partial<DeflateParams> }
> = [
  {
    name: 'defaults',
    ours: {},
    theirs: {},
    agreed: { serverNoContextTakeover: false, clientMaxWindowBits: 15 },
  },
  {
    name: '8-bit windows both ways',
    ours: { serverMaxWindowBits: 8, clientMaxWindowBits: 8 },
    theirs: {},
    agreed: { serverMaxWindowBits: 8, clientMaxWindowBits: 8 },
  },
  {
    name: 'no context takeover both ways, 10-bit windows',
    ours: {
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      serverMaxWindowBits: 10,
      clientMaxWindowBits: 10,
    },
    theirs: {},
    agreed: {
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      serverMaxWindowBits: 10,
      clientMaxWindowBits: 10,
    },
  },
  {
    name: 'ws imposes its own limits',
    ours: {},
    theirs: { serverNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 9 },
    agreed: { serverNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 9 },
  },
];

describe('interoperability with ws (its PerMessageDeflate over Node zlib streams)', () => {
  for (const { name, ours, theirs, agreed } of interopSettings) {
    it(`we are the client, ws the server: ${name}`, async () => {
      const server = new WsPerMessageDeflate({ ...theirs, isServer: true });
      const offer = wsParse(deflateOfferHeader(ours))['permessage-deflate']!;
      const answer = wsFormat({ 'permessage-deflate': server.accept(offer) });
      const params = acceptDeflateResponse([answer], ours)!;
      expect(params).toMatchObject(agreed);
      const client = new PerMessageDeflate(params, 'client', zlibCodec, { threshold: 0 });
      for (const m of interopMessages) {
        // ws → us, in two fragments
        const a = await wsCall(server, 'compress', m.subarray(0, m.length >> 1), false);
        const b = await wsCall(server, 'compress', m.subarray(m.length >> 1), true);
        const out: Uint8Array[] = [];
        expect(client.decompress(a, false, Infinity, (c) => out.push(c))).toBe('ok');
        expect(client.decompress(b, true, Infinity, (c) => out.push(c))).toBe('ok');
        expect(concat(out)).toEqual(m);
        // us → ws, whole
        expect(await wsCall(server, 'decompress', client.compress(m, true), true)).toEqual(m);
      }
      server.cleanup();
      client.release();
    });

    it(`ws is the client, we are the server: ${name}`, async () => {
      const wsClient = new WsPerMessageDeflate({ ...theirs, isServer: false });
      const offerHeader = wsFormat({ 'permessage-deflate': [wsClient.offer()] });
      const result = negotiateDeflate([offerHeader], ours)!;
      expect(result.params).toMatchObject(agreed);
      wsClient.accept(wsParse(result.header)['permessage-deflate']!);
      const server = new PerMessageDeflate(result.params, 'server', zlibCodec, { threshold: 0 });
      for (const m of interopMessages) {
        // us → ws, in two fragments
        const half = m.length >> 1;
        const a = server.compress(m.subarray(0, half), false);
        const b = server.compress(m.subarray(half), true);
        const first = await wsCall(wsClient, 'decompress', a, false);
        const second = await wsCall(wsClient, 'decompress', b, true);
        expect(concat([first, second])).toEqual(m);
        // ws → us, whole
        expect(receive(server, await wsCall(wsClient, 'compress', m, true))).toEqual({
          status: 'ok',
          data: m,
        });
      }
      wsClient.cleanup();
      server.release();
    });
  }
});
