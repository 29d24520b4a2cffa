/**
 * Autobahn section 5: fragmentation (RFC 6455 §5.4). Control frames must not be fragmented but may be
 * interleaved with the fragments of a message; a continuation needs a message to continue; a new message
 * must not start inside another. Several cases come in three sendings: all at once, frame-wise (each frame
 * in its own write) and octet-wise (each byte in its own write).
 */

import { type CaseDef, Code, expectEcho, expectFail, message, pong } from '../case.ts';
import { Op } from '../frame.ts';
import type { SendFrameOptions } from '../session.ts';

type Send = 'together' | 'sync' | 'chopped';
const HOW: Record<Send, string> = {
  together: '',
  sync: ' Octets are sent in frame-wise chops.',
  chopped: ' Octets are sent in octet-wise chops.',
};

function extra(how: Send): Partial<SendFrameOptions> {
  return how === 'sync' ? { sync: true } : how === 'chopped' ? { chop: 1 } : {};
}

function fragmentedControl(id: string, opcode: number, name: string): CaseDef {
  return {
    id,
    description: `Send ${name} fragmented into 2 fragments.`,
    expectation: 'Connection is failed immediately, since control message MUST NOT be fragmented.',
    run(s) {
      expectFail(s, Code.protocolError);
      s.sendFrame({ opcode, fin: false, payload: 'fragment1' });
      s.sendFrame({ opcode: Op.continuation, fin: true, payload: 'fragment2' });
      s.killAfter(1);
    },
  };
}

function twoFragments(id: string, how: Send): CaseDef {
  return {
    id,
    description: 'Send text Message fragmented into 2 fragments.' + HOW[how],
    expectation: "Message is processed and echo'ed back to us.",
    run(s) {
      expectEcho(s, [message('fragment1fragment2')]);
      s.sendFrame({ opcode: Op.text, fin: false, payload: 'fragment1', ...extra(how) });
      s.sendFrame({ opcode: Op.continuation, fin: true, payload: 'fragment2', ...extra(how) });
      s.killAfter(how === 'chopped' ? 5 : 1);
    },
  };
}

function pingBetween(id: string, how: Send): CaseDef {
  return {
    id,
    description: 'Send text Message fragmented into 2 fragments, one ping with payload in-between.' +
      HOW[how],
    expectation: "A pong is received, then the message is echo'ed back to us.",
    run(s) {
      expectEcho(s, [pong('ping payload'), message('fragment1fragment2')]);
      s.sendFrame({ opcode: Op.text, fin: false, payload: 'fragment1', ...extra(how) });
      s.sendFrame({ opcode: Op.ping, payload: 'ping payload', ...extra(how) });
      s.sendFrame({ opcode: Op.continuation, fin: true, payload: 'fragment2', ...extra(how) });
      s.killAfter(how === 'chopped' ? 5 : 1);
    },
  };
}

function orphanContinuation(id: string, fin: boolean, how: Send): CaseDef {
  return {
    id,
    description:
      `Send unfragmented Text Message after Continuation Frame with FIN = ${fin}, where there is ` +
      'nothing to continue.' + HOW[how],
    expectation: 'The connection is failed immediately, since there is no message to continue.',
    run(s) {
      expectFail(s, Code.protocolError);
      s.sendFrame({ opcode: Op.continuation, fin, payload: 'non-continuation payload', ...extra(how) });
      s.sendFrame({ opcode: Op.text, payload: 'Hello, world!', ...extra(how) });
      s.killAfter(how === 'chopped' ? 5 : 1);
    },
  };
}

function repeatedOrphan(id: string, fin: boolean): CaseDef {
  return {
    id,
    description: `Repeated 2x: Continuation Frame with FIN = ${fin} (where there is nothing to continue), ` +
      'then text Message fragmented into 2 fragments.',
    expectation: 'The connection is failed immediately, since there is no message to continue.',
    run(s) {
      expectFail(s, Code.protocolError);
      for (let i = 0; i < 2; i++) {
        s.sendFrame({ opcode: Op.continuation, fin, payload: 'fragment1' });
        s.sendFrame({ opcode: Op.text, fin: false, payload: 'fragment2' });
        s.sendFrame({ opcode: Op.continuation, fin: true, payload: 'fragment3' });
      }
      s.killAfter(1);
    },
  };
}

function pingsBetweenFragments(id: string, sync: boolean): CaseDef {
  return {
    id,
    description: 'A fragmented text message is sent in multiple frames. After sending the first 2 frames ' +
      'of the text message, a Ping is sent. Then we wait 1s, then we send 2 more text fragments, another ' +
      'Ping and then the final text fragment. Everything is legal.' + (sync ? HOW.sync : ''),
    expectation: 'The peer immediately answers the first Ping before it has received the last text message ' +
      "fragment. The peer pong's back the Ping's payload exactly, and echo's the payload of the fragmented " +
      'message back to us.',
    run(s) {
      const f = ['fragment1', 'fragment2', 'fragment3', 'fragment4', 'fragment5'] as const;
      const pings = ['pongme 1!', 'pongme 2!'] as const;
      expectEcho(s, [pong(pings[0]), pong(pings[1]), message(f.join(''))]);
      s.sendFrame({ opcode: Op.text, fin: false, payload: f[0], sync });
      s.sendFrame({ opcode: Op.continuation, fin: false, payload: f[1], sync });
      s.sendFrame({ opcode: Op.ping, payload: pings[0], sync });
      s.continueLater(1, () => {
        s.sendFrame({ opcode: Op.continuation, fin: false, payload: f[2], sync });
        s.sendFrame({ opcode: Op.continuation, fin: false, payload: f[3], sync });
        s.sendFrame({ opcode: Op.ping, payload: pings[1], sync });
        s.sendFrame({ opcode: Op.continuation, fin: true, payload: f[4], sync });
        s.closeAfter(1);
      });
    },
  };
}

/** Cases 5.1–5.20. */
export const fragmentationCases: CaseDef[] = [
  fragmentedControl('5.1', Op.ping, 'Ping'),
  fragmentedControl('5.2', Op.pong, 'Pong'),
  twoFragments('5.3', 'together'),
  twoFragments('5.4', 'sync'),
  twoFragments('5.5', 'chopped'),
  pingBetween('5.6', 'together'),
  pingBetween('5.7', 'sync'),
  pingBetween('5.8', 'chopped'),
  orphanContinuation('5.9', true, 'together'),
  orphanContinuation('5.10', true, 'sync'),
  orphanContinuation('5.11', true, 'chopped'),
  orphanContinuation('5.12', false, 'together'),
  orphanContinuation('5.13', false, 'sync'),
  orphanContinuation('5.14', false, 'chopped'),
  {
    id: '5.15',
    description: 'Send text Message fragmented into 2 fragments, then Continuation Frame with FIN = false ' +
      'where there is nothing to continue, then unfragmented Text Message, all sent in one chop.',
    expectation: 'The connection is failed immediately, since there is no message to continue.',
    run(s) {
      expectFail(s, Code.protocolError, [message('fragment1fragment2')], []);
      s.sendFrame({ opcode: Op.text, fin: false, payload: 'fragment1' });
      s.sendFrame({ opcode: Op.continuation, fin: true, payload: 'fragment2' });
      s.sendFrame({ opcode: Op.continuation, fin: false, payload: 'fragment3' });
      s.sendFrame({ opcode: Op.text, fin: true, payload: 'fragment4' });
      s.killAfter(1);
    },
  },
  repeatedOrphan('5.16', false),
  repeatedOrphan('5.17', true),
  {
    id: '5.18',
    description: 'Send text Message fragmented into 2 fragments, with both frame opcodes set to text, sent ' +
      'in one chop.',
    expectation: 'The connection is failed immediately, since all data frames after the initial data frame ' +
      'must have opcode 0.',
    run(s) {
      expectFail(s, Code.protocolError);
      s.sendFrame({ opcode: Op.text, fin: false, payload: 'fragment1' });
      s.sendFrame({ opcode: Op.text, fin: true, payload: 'fragment2' });
      s.killAfter(1);
    },
  },
  pingsBetweenFragments('5.19', false),
  pingsBetweenFragments('5.20', true),
];
