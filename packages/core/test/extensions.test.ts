import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.ts';
import { type ExtensionOffer, formatExtension, isToken, parseExtensions } from '../src/extensions.ts';
import { runs } from './fc-runs.ts';

const offer = (name: string, ...params: Array<[string, string | true]>): ExtensionOffer => ({ name, params });

describe('RFC 6455 §9.1: Sec-WebSocket-Extensions grammar', () => {
  it('parses one extension without parameters', () => {
    expect(parseExtensions(['permessage-deflate'])).toEqual([offer('permessage-deflate')]);
  });

  it('parses parameters with and without values, in order, duplicates kept', () => {
    expect(parseExtensions(['permessage-deflate; client_max_window_bits; server_max_window_bits=10; a=1; a']))
      .toEqual([
        offer('permessage-deflate', ['client_max_window_bits', true], ['server_max_window_bits', '10'], [
          'a',
          '1',
        ], [
          'a',
          true,
        ]),
      ]);
  });

  it('parses several comma-separated offers in one field (RFC 7692 §5.1 fallbacks)', () => {
    expect(parseExtensions(['permessage-deflate; server_max_window_bits=10, permessage-deflate, x-foo']))
      .toEqual([
        offer('permessage-deflate', ['server_max_window_bits', '10']),
        offer('permessage-deflate'),
        offer('x-foo'),
      ]);
  });

  it('joins several header fields into one list, in order (RFC 9110 §5.3)', () => {
    expect(parseExtensions(['a; x=1', 'b, c', 'd'])).toEqual([
      offer('a', ['x', '1']),
      offer('b'),
      offer('c'),
      offer('d'),
    ]);
  });

  it('allows optional whitespace (spaces and tabs) around every separator', () => {
    expect(parseExtensions([' \tpermessage-deflate \t; \tclient_max_window_bits \t= \t9 \t, \tb\t;c\t ']))
      .toEqual([
        offer('permessage-deflate', ['client_max_window_bits', '9']),
        offer('b', ['c', true]),
      ]);
  });

  it('unquotes quoted-string values, backslash escapes included', () => {
    expect(parseExtensions(['a; b="10"; c="x\\y"'])).toEqual([offer('a', ['b', '10'], ['c', 'xy'])]);
    expect(parseExtensions(['a; b="\\1\\0"'])).toEqual([offer('a', ['b', '10'])]);
  });

  it('requires a quoted value to be a token once unquoted (RFC 6455 §9.1)', () => {
    expect(parseExtensions(['a; b=""'])).toBeNull();
    expect(parseExtensions(['a; b="1 0"'])).toBeNull();
    expect(parseExtensions(['a; b="x,y"'])).toBeNull();
    expect(parseExtensions(['a; b="x\\"y"'])).toBeNull();
  });

  it('ignores empty list elements and empty fields (RFC 9110 §5.6.1)', () => {
    expect(parseExtensions([', a ,, b ,', '', '  '])).toEqual([offer('a'), offer('b')]);
    expect(parseExtensions([])).toEqual([]);
  });

  it('keeps names as sent (no case folding)', () => {
    expect(parseExtensions(['PerMessage-Deflate; Client_Max_Window_Bits'])).toEqual([
      offer('PerMessage-Deflate', ['Client_Max_Window_Bits', true]),
    ]);
  });

  describe('rejects malformed values with null', () => {
    const malformed = [
      ';',
      '; a',
      'a;',
      'a; ',
      'a;;b',
      'a; =1',
      'a; b=',
      'a; b= ',
      'a; b=1=2',
      'a; b=1 2',
      'a b',
      'a; b c',
      'a; b="10',
      'a; b="1\\',
      'a; b=/',
      'a; b=[1]',
      'a@b',
      'a; b@c',
      'a; b="x\u0001"',
      'a\u0000',
      'a;\nb',
      'a; b=\u00e9',
      'a; b="\u0100"',
    ];
    for (const value of malformed) {
      it(JSON.stringify(value), () => {
        expect(parseExtensions([value])).toBeNull();
        // one malformed field spoils the whole header
        expect(parseExtensions(['permessage-deflate', value])).toBeNull();
      });
    }
  });

  it('isToken accepts exactly the tchar set', () => {
    expect(isToken("!#$%&'*+-.^_`|~09azAZ")).toBe(true);
    for (
      const c of [
        '',
        ' ',
        '"',
        '(',
        ')',
        ',',
        '/',
        ':',
        ';',
        '<',
        '=',
        '>',
        '?',
        '@',
        '[',
        '\\',
        ']',
        '{',
        '}',
      ]
    ) {
      expect(isToken(c)).toBe(false);
    }
  });
});

describe('formatExtension', () => {
  it('writes the canonical form', () => {
    expect(formatExtension(offer('permessage-deflate', ['client_no_context_takeover', true], ['x', '10'])))
      .toBe(
        'permessage-deflate; client_no_context_takeover; x=10',
      );
  });

  it('refuses names and values that are not tokens', () => {
    for (
      const bad of [offer('a b'), offer('a', ['b c', true]), offer('a', ['b', '1 0']), offer('a', ['b', ''])]
    ) {
      expect(() => formatExtension(bad)).toThrow(UsageError);
    }
  });
});

const tokenArb = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/);
const offerArb = fc.record({
  name: tokenArb,
  params: fc.array(fc.tuple(tokenArb, fc.oneof(fc.constant(true as const), tokenArb)), { maxLength: 5 }),
});
/** Characters that matter to the grammar, so that random strings hit its corners often. */
const grammarChar = fc.constantFrom(
  ' ',
  '\t',
  ';',
  ',',
  '=',
  '"',
  '\\',
  'a',
  'b',
  '1',
  '@',
  '\u00e9',
  '\u0001',
);
const ows = fc.stringMatching(/^[ \t]{0,2}$/);

describe('properties', () => {
  it('parse(format(offers)) gives the offers back, whatever the optional whitespace and field split', () => {
    fc.assert(
      fc.property(
        fc.array(offerArb, { minLength: 1, maxLength: 6 }),
        fc.array(ows, { minLength: 8 }),
        (offers, ws) => {
          const formatted = offers.map((o) => formatExtension(o));
          const oneField = formatted.join(`${ws[0]},${ws[1]}`);
          const spaced = oneField.replaceAll('; ', `${ws[2]};${ws[3]}`).replaceAll('=', `${ws[4]}=${ws[5]}`);
          expect(parseExtensions([`${ws[6]}${spaced}${ws[7]}`])).toEqual(offers);
          expect(parseExtensions(formatted)).toEqual(offers);
        },
      ),
      { numRuns: runs },
    );
  });

  it('quoting a token value changes nothing', () => {
    fc.assert(
      fc.property(tokenArb, tokenArb, tokenArb, (name, param, value) => {
        const quoted = value.replace(/[\\"]/g, '\\$&');
        expect(parseExtensions([`${name}; ${param}="${quoted}"`])).toEqual([offer(name, [param, value])]);
      }),
      { numRuns: runs },
    );
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: grammarChar, maxLength: 40 }), { maxLength: 3 }), (values) => {
        const result = parseExtensions(values);
        if (result !== null) { for (const o of result) expect(isToken(o.name)).toBe(true); }
      }),
      { numRuns: runs },
    );
  });
});
