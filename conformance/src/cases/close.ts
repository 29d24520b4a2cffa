/**
 * Autobahn section 7: close handling (RFC 6455 §5.5.1, §7). The peer answers our close with a close (code
 * 1000 or our code echoed) and ignores whatever follows it; a close payload of 1 byte, a reason over 123
 * bytes, a reason that is not UTF-8 or a code outside the ranges one may send (§7.4) fails the connection.
 * Codes of 5000 and above are undefined by the RFC: those cases are INFORMATIONAL.
 */

import { concat, hex, repeatTo, utf8 } from '../bytes.ts';
import { type CaseDef, Code, expectEcho, message } from '../case.ts';
import { closePayload, Op } from '../frame.ts';
import type { Session } from '../session.ts';

function expectCleanClose(s: Session, codes: number[] = [Code.normal]): void {
  s.expected = { OK: [] };
  s.expectedClose = { closedByMe: true, codes, requireClean: true };
}

function expectCloseWith(s: Session, code: number): void {
  s.expected = { OK: [] };
  s.expectedClose = { closedByMe: true, codes: [code], requireClean: false };
}

/** 7.7 and 7.9: a wrong close code fails the case (as Autobahn does for these two groups). */
function wrongCodeFails(_s: Session, e: { behavior: string; behaviorClose: string; result: string }): void {
  if (e.behaviorClose === 'WRONG CODE') {
    e.behavior = 'FAILED';
    e.result = 'The peer answered with the wrong close code';
  }
}

const basic: CaseDef[] = [
  {
    id: '7.1.1',
    description: 'Send a message followed by a close frame',
    expectation: 'Echoed message followed by clean close with normal code.',
    run(s) {
      expectEcho(s, [message('Hello World!')]);
      s.sendFrame({ opcode: Op.text, payload: 'Hello World!' });
      s.killAfter(1);
    },
  },
  {
    id: '7.1.2',
    description: 'Send two close frames',
    expectation: 'Clean close with normal code. Second close frame ignored.',
    run(s) {
      s.suppressClose = true;
      expectCleanClose(s);
      s.sendClose(Code.normal);
      s.sendCloseFrame(Code.normal);
      s.killAfter(1);
    },
  },
  {
    id: '7.1.3',
    description: 'Send a ping after close message',
    expectation: 'Clean close with normal code, no pong.',
    run(s) {
      s.suppressClose = true;
      expectCleanClose(s);
      s.sendClose(Code.normal);
      s.sendFrame({ opcode: Op.ping, payload: 'Hello World!' });
      s.killAfter(1);
    },
  },
  {
    id: '7.1.4',
    description: 'Send text message after sending a close frame',
    expectation: 'Clean close with normal code. Text message ignored.',
    run(s) {
      s.suppressClose = true;
      expectCleanClose(s);
      s.sendClose(Code.normal);
      s.sendFrame({ opcode: Op.text, payload: 'Hello World!' });
      s.killAfter(1);
    },
  },
  {
    id: '7.1.5',
    description: 'Send message fragment1 followed by close then fragment',
    expectation: 'Clean close with normal code.',
    run(s) {
      s.suppressClose = true;
      expectCleanClose(s);
      s.sendFrame({ opcode: Op.text, fin: false, payload: 'fragment1' });
      s.sendClose(Code.normal);
      s.sendFrame({ opcode: Op.continuation, fin: true, payload: 'fragment2' });
      s.killAfter(1);
    },
    finish: wrongCodeFails,
  },
  {
    id: '7.1.6',
    description: 'Send 256K message followed by close then a ping',
    expectation:
      'Case outcome depends on implementation defined close behavior. Message and close frame are ' +
      'sent back to back. If the close frame is processed before the text message write is complete (as can ' +
      'happen in asynchronous processing models) the close frame is processed first and the text message ' +
      'may not be received or may only be partially received.',
    run(s) {
      s.suppressClose = true;
      const big = repeatTo(utf8('BAsd7&jh23'), 256 * 1024);
      s.expected = { OK: [message(big), message('Hello World!')], 'NON-STRICT': [] };
      s.expectedClose = { closedByMe: true, codes: [Code.normal], requireClean: true };
      s.sendFrame({ opcode: Op.text, payload: big });
      s.sendFrame({ opcode: Op.text, payload: 'Hello World!' });
      s.sendClose(Code.normal);
      s.sendFrame({ opcode: Op.ping });
      s.killAfter(2);
    },
    finish(_s, e) {
      e.result = e.behavior === 'OK'
        ? 'Text messages were processed before the close.'
        : e.behavior === 'NON-STRICT'
        ? 'The close was processed before the text messages could be returned.'
        : 'Text messages were partly returned before the close.';
      e.behavior = 'INFORMATIONAL';
      e.behaviorClose = 'INFORMATIONAL';
    },
  },
];

const KOSME_INVALID = concat([hex('ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80'), utf8('edited')]);

const structure: CaseDef[] = [
  {
    id: '7.3.1',
    description: 'Send a close frame with payload length 0 (no close code, no close reason)',
    expectation: 'Clean close with normal code.',
    run(s) {
      expectCleanClose(s);
      s.sendClose();
      s.killAfter(1);
    },
  },
  {
    id: '7.3.2',
    description: 'Send a close frame with payload length 1',
    expectation: 'Clean close with protocol error or drop TCP.',
    run(s) {
      expectCloseWith(s, Code.protocolError);
      s.sendCloseFrame(undefined, undefined, Uint8Array.of(0x00));
      s.killAfter(1);
    },
  },
  {
    id: '7.3.3',
    description: 'Send a close frame with payload length 2 (regular close with a code)',
    expectation: 'Clean close with normal code.',
    run(s) {
      expectCleanClose(s);
      s.sendClose(Code.normal);
      s.killAfter(1);
    },
  },
  {
    id: '7.3.4',
    description: 'Send a close frame with close code and close reason',
    expectation: 'Clean close with normal code.',
    run(s) {
      expectCleanClose(s);
      s.sendClose(Code.normal, 'Hello World!');
      s.killAfter(1);
    },
  },
  {
    id: '7.3.5',
    description: 'Send a close frame with close code and close reason of maximum length (123)',
    expectation: 'Clean close with normal code.',
    run(s) {
      expectCleanClose(s);
      s.sendClose(Code.normal, repeatTo(utf8('*'), 123));
      s.killAfter(1);
    },
  },
  {
    id: '7.3.6',
    description: 'Send a close frame with close code and close reason which is too long (124) - total ' +
      'frame payload 126 octets',
    expectation: 'Clean close with protocol error code or dropped TCP connection.',
    run(s) {
      expectCloseWith(s, Code.protocolError);
      s.sendCloseFrame(undefined, undefined, closePayload(Code.normal, repeatTo(utf8('*'), 124)));
      s.killAfter(1);
    },
  },
  {
    id: '7.5.1',
    description: 'Send a close frame with invalid UTF8 payload',
    expectation: 'Clean close with protocol error or invalid utf8 code or dropped TCP.',
    run(s) {
      s.expected = { OK: [] };
      s.expectedClose = {
        closedByMe: true,
        codes: [Code.protocolError, Code.invalidPayload],
        requireClean: false,
      };
      s.sendCloseFrame(undefined, undefined, closePayload(Code.normal, KOSME_INVALID));
      s.killAfter(1);
    },
  },
];

const VALID = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999];
const INVALID = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999];

const codes: CaseDef[] = [
  ...VALID.map((code, i): CaseDef => ({
    id: `7.7.${i + 1}`,
    description: `Send close with valid close code ${code}`,
    expectation: 'Clean close with normal or echoed code',
    run(s) {
      expectCleanClose(s, [Code.normal, code]);
      s.sendClose(code);
      s.killAfter(1);
    },
    finish: wrongCodeFails,
  })),
  ...INVALID.map((code, i): CaseDef => ({
    id: `7.9.${i + 1}`,
    description: `Send close with invalid close code ${code}`,
    expectation: 'Clean close with protocol error code or drop TCP',
    run(s) {
      expectCloseWith(s, Code.protocolError);
      s.sendCloseFrame(undefined, undefined, closePayload(code));
      s.killAfter(1);
    },
    finish: wrongCodeFails,
  })),
  ...[5000, 65535].map((code, i): CaseDef => ({
    id: `7.13.${i + 1}`,
    description: `Send close with close code ${code}`,
    expectation: 'Actual events are undefined by the spec.',
    run(s) {
      s.suppressClose = true;
      s.expected = { OK: [] };
      s.expectedClose = {
        closedByMe: true,
        codes: [Code.normal, code, Code.protocolError],
        requireClean: false,
      };
      s.sendCloseFrame(undefined, undefined, closePayload(code));
      s.killAfter(1);
    },
    finish(_s, e) {
      e.behavior = 'INFORMATIONAL';
      e.behaviorClose = 'INFORMATIONAL';
      e.result = 'Actual events are undefined by the spec.';
    },
  })),
];

/** Cases 7.1.1–7.13.2. */
export const closeCases: CaseDef[] = [...basic, ...structure, ...codes];
