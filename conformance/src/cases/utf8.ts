/**
 * Autobahn section 6: UTF-8 handling (RFC 6455 §5.6, §8.1). Text messages must be valid UTF-8 (RFC 3629);
 * an endpoint that receives invalid text fails the connection with 1007, and should do so as soon as the
 * bytes received can no longer be valid ("fail fast", 6.4.x): we send the valid part, wait, send the byte
 * that makes it invalid, and wait for the close before we send the rest. A peer that only fails at the end
 * of the message is NON-STRICT. Sections 6.5–6.23 are the sequences of Markus Kuhn's UTF-8 decoder
 * stress test, each sent as one text message, valid ones to be echoed, invalid ones to fail the connection.
 */

import { concat, hex, isUtf8, utf8 } from '../bytes.ts';
import { type CaseDef, Code, expectEcho, expectFail, message, timeout } from '../case.ts';
import { Op } from '../frame.ts';
import type { Session } from '../session.ts';

const KOSME = hex('ce ba e1 bd b9 cf 83 ce bc ce b5'); // κόσμε
const MIXED = 'Hello-\u00b5@\u00df\u00f6\u00e4\u00fc\u00e0\u00e1-UTF-8!!';

function echoMessage(id: string, description: string, send: (s: Session) => void, expect: string): CaseDef {
  return {
    id,
    description,
    expectation: "The message is echo'ed back to us.",
    run(s) {
      expectEcho(s, [message(expect)]);
      send(s);
      s.killAfter(2);
    },
  };
}

/** Sends `payload` as a text message in frames of `size` bytes. */
function fragments(s: Session, payload: Uint8Array, size: number): void {
  s.sendMessage(payload, false, { fragmentSize: size });
}

function failFast(id: string, split: 'frames' | 'chops', cut: 11 | 12): CaseDef {
  const invalid = hex('f4 90 80 80'); // 0x110000 in the UTF-8 scheme: beyond U+10FFFF
  const payload = concat([KOSME, invalid, utf8('edited')]);
  // 6.4.1/6.4.3: part 2 is the whole invalid sequence; 6.4.2/6.4.4: only the octet that makes it invalid.
  const parts = cut === 11
    ? [payload.subarray(0, 11), payload.subarray(11, 15), payload.subarray(15)]
    : [payload.subarray(0, 12), payload.subarray(12, 13), payload.subarray(13)];
  return {
    id,
    description:
      `Send invalid UTF-8 text message in 3 ${
        split === 'frames' ? 'fragments (frames)' : 'chops of ' +
          'one frame'
      }. The first part is valid, then we wait, then the 2nd part makes the sequence invalid, then ` +
      'we wait, then the 3rd part with the rest. Parts: ' +
      parts.map((p) => Buffer.from(p).toString('hex')).join(' | '),
    expectation: 'The first part is accepted: we time out on the first wait. The 2nd part is rejected ' +
      'immediately (fail fast on UTF-8, 1007). Failing only once the message is complete is NON-STRICT.',
    run(s) {
      s.expected = { OK: [timeout('A')], 'NON-STRICT': [timeout('A'), timeout('B')] };
      s.expectedClose = { closedByMe: false, codes: [Code.invalidPayload], requireClean: false };
      const [p1, p2, p3] = parts as [Uint8Array, Uint8Array, Uint8Array];
      if (split === 'frames') {
        s.sendFrame({ opcode: Op.text, fin: false, payload: p1 });
        s.continueLater(1, () => {
          s.sendFrame({ opcode: Op.continuation, fin: false, payload: p2 });
          s.continueLater(1, () => {
            s.sendFrame({ opcode: Op.continuation, fin: true, payload: p3 });
            s.killAfter(1);
          }, 'B');
        }, 'A');
      } else {
        const frame = s.frameBytes({ opcode: Op.text, payload });
        const header = frame.length - payload.length;
        const a = header + p1.length;
        const b = a + p2.length;
        s.sendRaw(frame.subarray(0, a));
        s.continueLater(1, () => {
          s.sendRaw(frame.subarray(a, b));
          s.continueLater(1, () => {
            s.sendRaw(frame.subarray(b));
            s.killAfter(1);
          }, 'B');
        }, 'A');
      }
    },
  };
}

/** Cases 6.1–6.4. */
const basicCases: CaseDef[] = [
  echoMessage('6.1.1', 'Send text message of length 0.', (s) => s.sendFrame({ opcode: Op.text }), ''),
  echoMessage('6.1.2', 'Send fragmented text message, 3 fragments each of length 0.', (s) => {
    s.sendFrame({ opcode: Op.text, fin: false });
    s.sendFrame({ opcode: Op.continuation, fin: false });
    s.sendFrame({ opcode: Op.continuation, fin: true });
  }, ''),
  echoMessage(
    '6.1.3',
    'Send fragmented text message, 3 fragments, first and last of length 0, middle non-empty.',
    (s) => {
      s.sendFrame({ opcode: Op.text, fin: false });
      s.sendFrame({ opcode: Op.continuation, fin: false, payload: 'middle frame payload' });
      s.sendFrame({ opcode: Op.continuation, fin: true });
    },
    'middle frame payload',
  ),
  echoMessage(
    '6.2.1',
    `Send a valid UTF-8 text message in one fragment: ${MIXED}`,
    (s) => s.sendMessage(MIXED, false),
    MIXED,
  ),
  echoMessage(
    '6.2.2',
    'Send a valid UTF-8 text message in two fragments, fragmented on UTF-8 code point boundary.',
    (s) => {
      s.sendFrame({ opcode: Op.text, fin: false, payload: 'Hello-\u00b5@\u00df\u00f6\u00e4' });
      s.sendFrame({ opcode: Op.continuation, fin: true, payload: '\u00fc\u00e0\u00e1-UTF-8!!' });
    },
    MIXED,
  ),
  echoMessage(
    '6.2.3',
    'Send a valid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which ' +
      'are not code point ends.',
    (s) => fragments(s, utf8(MIXED), 1),
    MIXED,
  ),
  echoMessage(
    '6.2.4',
    'Send a valid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which ' +
      'are not code point ends (κόσμε).',
    (s) => fragments(s, KOSME, 1),
    new TextDecoder().decode(KOSME),
  ),
  ...[1, 2].map((n): CaseDef => {
    const payload = concat([KOSME, hex('ed a0 80'), utf8('edited')]);
    return {
      id: `6.3.${n}`,
      description: n === 1
        ? 'Send invalid UTF-8 text message unfragmented: ' + Buffer.from(payload).toString('hex')
        : 'Send invalid UTF-8 text message in fragments of 1 octet: ' + Buffer.from(payload).toString('hex'),
      expectation: 'The connection is failed immediately (1007), since the payload is not valid UTF-8.',
      run(s) {
        expectFail(s, Code.invalidPayload);
        if (n === 1) s.sendMessage(payload, false);
        else fragments(s, payload, 1);
        s.killAfter(1);
      },
    };
  }),
  failFast('6.4.1', 'frames', 11),
  failFast('6.4.2', 'frames', 12),
  failFast('6.4.3', 'chops', 11),
  failFast('6.4.4', 'chops', 12),
];

/** One group of Markus Kuhn's sequences: a title and (valid, bytes) pairs. */
type Group = readonly [string, ReadonlyArray<readonly [boolean, Uint8Array]>];

function range(from: number, to: number, after?: number): Uint8Array {
  const out: number[] = [];
  for (let i = from; i < to; i++) {
    out.push(i);
    if (after !== undefined) out.push(after);
  }
  return Uint8Array.from(out);
}

/**
 * The sequences of http://www.cl.cam.ac.uk/~mgk25/ucs/examples/UTF-8-test.txt as Autobahn groups them
 * (including its half-open ranges, so the numbering matches Autobahn's 6.5.1–6.23.7).
 */
function kuhnGroups(): Group[] {
  const v = (h: string) => [true, hex(h)] as const;
  const x = (h: string) => [false, hex(h)] as const;
  const missing = [
    'c0',
    'e080',
    'f08080',
    'f8808080',
    'fc80808080',
    'df',
    'efbf',
    'f7bfbf',
    'fbbfbfbf',
    'fdbfbfbfbf',
  ];
  const nonChars: Array<readonly [boolean, Uint8Array]> = [v('efbfbe'), v('efbfbf')];
  for (const z1 of ['f0', 'f1', 'f2', 'f3', 'f4']) {
    for (const z2 of ['8f', '9f', 'af', 'bf']) {
      if (z1 === 'f4' && z2 !== '8f') continue; // beyond U+10FFFF
      for (const z3 of ['be', 'bf']) {
        const seq = z1 + z2 + 'bf' + z3;
        if (seq === 'f08fbfbe' || seq === 'f08fbfbf') continue; // overlong
        nonChars.push(v(seq));
      }
    }
  }
  return [
    ['Some valid UTF-8 sequences', [
      [true, utf8('hello$world')],
      [true, utf8('hello\u00a2world')],
      [true, utf8('hello\u20acworld')],
      [true, utf8('hello\u{24b62}world')],
      [true, KOSME],
    ]],
    [
      'All prefixes of a valid UTF-8 string that contains multi-byte code points',
      Array.from({ length: KOSME.length }, (_, i) => {
        const prefix = KOSME.slice(0, i + 1);
        return [isUtf8(prefix), prefix] as const;
      }),
    ],
    ['First possible sequence of a certain length', [v('00'), v('c280'), v('e0a080'), v('f0908080')]],
    ['First possible sequence length 5/6 (invalid codepoints)', [x('f888808080'), x('fc8480808080')]],
    ['Last possible sequence of a certain length', [v('7f'), v('dfbf'), v('efbfbf'), v('f48fbfbf')]],
    ['Last possible sequence length 4/5/6 (invalid codepoints)', [
      x('f7bfbfbf'),
      x('fbbfbfbfbf'),
      x('fdbfbfbfbfbf'),
    ]],
    ['Other boundary conditions', [v('ed9fbf'), v('ee8080'), v('efbfbd'), v('f48fbfbf'), x('f4908080')]],
    ['Unexpected continuation bytes', [
      x('80'),
      x('bf'),
      x('80bf'),
      x('80bf80'),
      x('80bf80bf'),
      x('80bf80bf80'),
      x('80bf80bf80bf'),
      [false, range(0x80, 0xbf)],
    ]],
    ['Lonely start characters', [
      [false, range(0xc0, 0xdf, 0x20)],
      [false, range(0xe0, 0xef, 0x20)],
      [false, range(0xf0, 0xf7, 0x20)],
      [false, range(0xf8, 0xfb, 0x20)],
      [false, range(0xfc, 0xfd, 0x20)],
    ]],
    ['Sequences with last continuation byte missing', missing.map((h) => x(h))],
    ['Concatenation of incomplete sequences', [x(missing.join(''))]],
    ['Impossible bytes', [x('fe'), x('ff'), x('fefeffff')]],
    ['Examples of an overlong ASCII character', [
      x('c0af'),
      x('e080af'),
      x('f08080af'),
      x('f8808080af'),
      x('fc80808080af'),
    ]],
    ['Maximum overlong sequences', [
      x('c1bf'),
      x('e09fbf'),
      x('f08fbfbf'),
      x('f887bfbfbf'),
      x('fc83bfbfbfbf'),
    ]],
    ['Overlong representation of the NUL character', [
      x('c080'),
      x('e08080'),
      x('f0808080'),
      x('f880808080'),
      x('fc8080808080'),
    ]],
    ['Single UTF-16 surrogates', [
      x('eda080'),
      x('edadbf'),
      x('edae80'),
      x('edafbf'),
      x('edb080'),
      x('edbe80'),
      x('edbfbf'),
    ]],
    ['Paired UTF-16 surrogates', [
      x('eda080edb080'),
      x('eda080edbfbf'),
      x('edadbfedb080'),
      x('edadbfedbfbf'),
      x('edae80edb080'),
      x('edae80edbfbf'),
      x('edafbfedb080'),
      x('edafbfedbfbf'),
    ]],
    ['Non-character code points (valid UTF-8)', nonChars],
    ['Unicode specials (i.e. replacement char)', [
      v('efbfb9'),
      v('efbfba'),
      v('efbfbb'),
      v('efbfbc'),
      v('efbfbd'),
      v('efbfbe'),
      v('efbfbf'),
    ]],
  ];
}

/** Sub-category titles of 6.5–6.23, for the report. */
export const utf8Categories: Record<string, string> = {};

function kuhnCases(): CaseDef[] {
  const out: CaseDef[] = [];
  kuhnGroups().forEach(([title, sequences], g) => {
    utf8Categories[`6.${g + 5}`] = title;
    sequences.forEach(([valid, payload], i) => {
      const h = Buffer.from(payload).toString('hex');
      out.push({
        id: `6.${g + 5}.${i + 1}`,
        description: valid
          ? `Send a text message with payload which is valid UTF-8 in one fragment. Payload: 0x${h}`
          : `Send a text message with payload which is not valid UTF-8 in one fragment. Payload: 0x${h}`,
        expectation: valid
          ? "The message is echo'ed back to us."
          : 'The connection is failed immediately (1007), since the payload is not valid UTF-8.',
        run(s) {
          if (valid) expectEcho(s, [message(payload)]);
          else expectFail(s, Code.invalidPayload);
          s.sendMessage(payload, false);
          s.killAfter(valid ? 2 : 0.5);
        },
      });
    });
  });
  return out;
}

/** Cases 6.1.1–6.23.7. */
export const utf8Cases: CaseDef[] = [...basicCases, ...kuhnCases()];
