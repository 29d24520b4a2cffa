/**
 * Autobahn section 1: framing. Text (1.1) and binary (1.2) messages at every boundary of the payload length
 * encoding (RFC 6455 §5.2: 7-bit up to 125, 16-bit from 126, 64-bit from 65536), one case also chopped.
 */

import { repeatTo, utf8 } from '../bytes.ts';
import { type CaseDef, expectEcho, message } from '../case.ts';
import { Op } from '../frame.ts';

const SIZES: ReadonlyArray<readonly [number, number | undefined]> = [
  [0, undefined],
  [125, undefined],
  [126, undefined],
  [127, undefined],
  [128, undefined],
  [65535, undefined],
  [65536, undefined],
  [65536, 997],
];

function sizeCase(group: 1 | 2, index: number, length: number, chop: number | undefined): CaseDef {
  const binary = group === 2;
  const payload = repeatTo(binary ? Uint8Array.of(0xfe) : utf8('*'), length);
  const kind = binary ? 'binary' : 'text';
  return {
    id: `1.${group}.${index}`,
    description: `Send ${kind} message with payload length ${length}` +
      (chop ? `, sent out in chops of ${chop} octets.` : '.'),
    expectation: `Receive echo'ed ${kind} message (with empty payload when 0). Clean close with normal code.`,
    run(s) {
      expectEcho(s, [message(payload, binary)]);
      s.sendFrame({ opcode: binary ? Op.binary : Op.text, payload, ...(chop ? { chop } : {}) });
      s.killAfter(chop ? 10 : 1);
    },
  };
}

/** Cases 1.1.1–1.1.8 and 1.2.1–1.2.8. */
export const framingCases: CaseDef[] = ([1, 2] as const).flatMap((group) =>
  SIZES.map(([length, chop], i) => sizeCase(group, i + 1, length, chop))
);
