/**
 * Autobahn section 2: pings and pongs (RFC 6455 §5.5.2, §5.5.3). A ping is answered with a pong carrying the
 * same payload, whatever it is; control payloads are limited to 125 bytes; an unsolicited pong is ignored.
 */

import { bytes, repeatTo } from '../bytes.ts';
import { type CaseDef, Code, expectEcho, expectFail, pong } from '../case.ts';
import { Op } from '../frame.ts';

const BINARY_SMALL = bytes(0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff);

function pingCase(id: string, description: string, payload: Uint8Array | string, chop?: number): CaseDef {
  return {
    id,
    description,
    expectation: 'Pong (with payload echoed) is sent in reply to Ping. Clean close with normal code.',
    run(s) {
      expectEcho(s, [pong(payload)]);
      s.sendFrame({ opcode: Op.ping, payload, ...(chop ? { chop } : {}) });
      s.killAfter(chop ? 5 : 2);
    },
  };
}

function tenPings(id: string, chop?: number): CaseDef {
  return {
    id,
    description: 'Send 10 Pings with payload' + (chop ? `, sent out in chops of ${chop} octet.` : '.'),
    expectation: 'Pongs for our Pings with all the payloads. Note: the RFC only requires a Pong for the ' +
      'most recent Ping; Autobahn, and this suite, expect all of them. Clean close with normal code.',
    run(s) {
      const payloads = Array.from({ length: 10 }, (_, i) => `payload-${i}`);
      expectEcho(s, payloads.map((p) => pong(p)));
      for (const p of payloads) s.sendFrame({ opcode: Op.ping, payload: p, ...(chop ? { chop } : {}) });
      s.killAfter(chop ? 10 : 3);
    },
  };
}

/** Cases 2.1–2.11. */
export const pingCases: CaseDef[] = [
  pingCase('2.1', 'Send ping without payload.', new Uint8Array(0)),
  pingCase('2.2', 'Send ping with small text payload.', 'Hello, world!'),
  pingCase('2.3', 'Send ping with small binary (non UTF-8) payload.', BINARY_SMALL),
  pingCase('2.4', 'Send ping with binary payload of 125 octets.', repeatTo(bytes(0xfe), 125)),
  {
    id: '2.5',
    description: 'Send ping with binary payload of 126 octets.',
    expectation: 'Connection is failed immediately (1002/Protocol Error), since control frames are only ' +
      'allowed to have payload up to and including 125 octets.',
    run(s) {
      expectFail(s, Code.protocolError);
      s.sendFrame({ opcode: Op.ping, payload: repeatTo(bytes(0xfe), 126) });
      s.killAfter(1);
    },
  },
  pingCase(
    '2.6',
    'Send ping with binary payload of 125 octets, send in octet-wise chops.',
    repeatTo(bytes(0xfe), 125),
    1,
  ),
  {
    id: '2.7',
    description: 'Send unsolicited pong without payload.',
    expectation: 'Nothing. Clean close with normal code.',
    run(s) {
      expectEcho(s, []);
      s.sendFrame({ opcode: Op.pong });
      s.closeAfter(1);
    },
  },
  {
    id: '2.8',
    description: "Send unsolicited pong with payload 'unsolicited pong payload'.",
    expectation: 'Nothing. Clean close with normal code.',
    run(s) {
      expectEcho(s, []);
      s.sendFrame({ opcode: Op.pong, payload: 'unsolicited pong payload' });
      s.closeAfter(1);
    },
  },
  {
    id: '2.9',
    description: "Send unsolicited pong with payload 'unsolicited pong payload', then ping with payload " +
      "'ping payload'.",
    expectation: "Pong with payload 'ping payload' (only). Clean close with normal code.",
    run(s) {
      expectEcho(s, [pong('ping payload')]);
      s.sendFrame({ opcode: Op.pong, payload: 'unsolicited pong payload' });
      s.sendFrame({ opcode: Op.ping, payload: 'ping payload' });
      s.killAfter(2);
    },
  },
  tenPings('2.10'),
  tenPings('2.11', 1),
];
