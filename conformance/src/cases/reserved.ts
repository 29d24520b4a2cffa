/**
 * Autobahn sections 3 (reserved bits) and 4 (reserved opcodes). Without a negotiated extension every RSV
 * bit must be 0 and opcodes 3–7 and 11–15 are reserved (RFC 6455 §5.2): the receiver must fail the
 * connection. Where a valid message precedes the bad frame, its echo is expected first (a peer that fails
 * before echoing it is NON-STRICT, as in Autobahn), and the ping after the bad frame must never be answered.
 */

import { bytes } from '../bytes.ts';
import { type CaseDef, Code, expectFail, message } from '../case.ts';
import { Op } from '../frame.ts';
import type { SendFrameOptions } from '../session.ts';

const HELLO = 'Hello, world!';

function failOn(id: string, description: string, bad: SendFrameOptions): CaseDef {
  return {
    id,
    description,
    expectation: 'The connection is failed immediately (1002).',
    run(s) {
      expectFail(s, Code.protocolError);
      s.sendFrame(bad);
      s.killAfter(1);
    },
  };
}

type Send = 'together' | 'sync' | 'chopped';

function echoThenFail(id: string, description: string, bad: SendFrameOptions, how: Send): CaseDef {
  return {
    id,
    description,
    expectation:
      'Echo for the first message is received, then the connection is failed immediately (1002). ' +
      'The Pong is not received.',
    run(s) {
      expectFail(s, Code.protocolError, [message(HELLO)], []);
      const extra = how === 'sync' ? { sync: true } : how === 'chopped' ? { chop: 1 } : {};
      s.sendFrame({ opcode: Op.text, payload: HELLO, ...extra });
      s.sendFrame({ ...bad, ...extra });
      s.sendFrame({ opcode: Op.ping, payload: HELLO, ...extra });
      s.killAfter(how === 'chopped' ? 5 : 1);
    },
  };
}

/** Cases 3.1–3.7. */
export const reservedBitCases: CaseDef[] = [
  failOn('3.1', 'Send small text message with RSV = 1.', { opcode: Op.text, payload: HELLO, rsv: 1 }),
  echoThenFail(
    '3.2',
    'Send small text message, then send again with RSV = 2, then send Ping.',
    { opcode: Op.text, payload: HELLO, rsv: 2 },
    'together',
  ),
  echoThenFail(
    '3.3',
    'Send small text message, then send again with RSV = 3, then send Ping. Octets are sent in frame-wise ' +
      'chops.',
    { opcode: Op.text, payload: HELLO, rsv: 3 },
    'sync',
  ),
  echoThenFail(
    '3.4',
    'Send small text message, then send again with RSV = 4, then send Ping. Octets are sent in octet-wise ' +
      'chops.',
    { opcode: Op.text, payload: HELLO, rsv: 4 },
    'chopped',
  ),
  failOn('3.5', 'Send small binary message with RSV = 5.', {
    opcode: Op.binary,
    payload: bytes(0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff),
    rsv: 5,
  }),
  failOn('3.6', 'Send Ping with RSV = 6.', { opcode: Op.ping, payload: HELLO, rsv: 6 }),
  failOn('3.7', 'Send Close with RSV = 7.', { opcode: Op.close, rsv: 7 }),
];

const RESERVED_PAYLOAD = 'reserved opcode payload';

function opcodeCases(group: 1 | 2, opcodes: readonly number[]): CaseDef[] {
  const kind = group === 1 ? 'non-control' : 'control';
  const [a, b, c, d, e] = opcodes as [number, number, number, number, number];
  return [
    failOn(`4.${group}.1`, `Send frame with reserved ${kind} Opcode = ${a}.`, { opcode: a }),
    failOn(`4.${group}.2`, `Send frame with reserved ${kind} Opcode = ${b} and non-empty payload.`, {
      opcode: b,
      payload: RESERVED_PAYLOAD,
    }),
    echoThenFail(
      `4.${group}.3`,
      `Send small text message, then send frame with reserved ${kind} Opcode = ${c}, then send Ping.`,
      { opcode: c },
      'together',
    ),
    echoThenFail(
      `4.${group}.4`,
      `Send small text message, then send frame with reserved ${kind} Opcode = ${d} and non-empty ` +
        'payload, then send Ping.',
      { opcode: d, payload: RESERVED_PAYLOAD },
      'together',
    ),
    echoThenFail(
      `4.${group}.5`,
      `Send small text message, then send frame with reserved ${kind} Opcode = ${e} and non-empty ` +
        'payload, then send Ping.',
      { opcode: e, payload: RESERVED_PAYLOAD },
      'together',
    ),
  ];
}

/** Cases 4.1.1–4.1.5 (opcodes 3–7) and 4.2.1–4.2.5 (opcodes 11–15). */
export const opcodeCasesAll: CaseDef[] = [
  ...opcodeCases(1, [3, 4, 5, 6, 7]),
  ...opcodeCases(2, [11, 12, 13, 14, 15]),
];
