/**
 * Autobahn sections 9 (limits and performance) and 10 (auto-fragmentation). Large messages up to 16 MiB,
 * messages of 4 MiB in fragments from 64 bytes to 4 MiB, 1 MiB written in chops from 64 bytes, and 1000
 * round trips of small messages. Every echo is compared byte for byte (Autobahn only checks lengths).
 * Quick mode keeps the smallest and the largest case of each group.
 */

import { equalBytes, repeatTo, utf8 } from '../bytes.ts';
import { type CaseDef, expectEcho, message, type Mode } from '../case.ts';
import { Op } from '../frame.ts';
import type { Session } from '../session.ts';

const KIB = 1024;
const MIB = 1024 * 1024;

/** Expects one echo of `payload`, judged by the case itself; closes when it arrived. */
function bulkEcho(s: Session, payload: Uint8Array, binary: boolean, waitSeconds: number): void {
  s.behavior = 'FAILED';
  s.result = `No echo: the connection ended, or the ${waitSeconds} s deadline passed, before it arrived.`;
  s.expectedClose = { closedByMe: true, codes: [1000], requireClean: true };
  s.log.enabled = false;
  s.onMessage = (data, isBinary) => {
    s.log.enabled = true;
    if (isBinary !== binary) {
      s.result = `Expected ${binary ? 'binary' : 'text'} message, got ${isBinary ? 'binary' : 'text'}.`;
    } else if (data.length !== payload.length) {
      s.result = `Expected message with payload of length ${payload.length}, but got ${data.length}.`;
    } else if (!equalBytes(data, payload)) {
      s.result = `Message of length ${data.length} differs from what was sent.`;
    } else {
      s.behavior = 'OK';
      s.result = `Received ${binary ? 'binary' : 'text'} message of length ${data.length}.`;
    }
    s.sendClose(1000);
  };
  s.closeAfter(waitSeconds, false);
}

const SIZES: ReadonlyArray<readonly [number, number]> = [
  [64 * KIB, 10],
  [256 * KIB, 10],
  [1 * MIB, 20],
  [4 * MIB, 40],
  [8 * MIB, 80],
  [16 * MIB, 160],
];
const FRAGMENTS = [64, 256, KIB, 4 * KIB, 16 * KIB, 64 * KIB, 256 * KIB, MIB, 4 * MIB];
const CHOPS = [64, 128, 256, 512, KIB, 2 * KIB];
const ROUND_TRIPS: ReadonlyArray<readonly [number, number]> = [
  [0, 60],
  [16, 60],
  [64, 60],
  [256, 120],
  [KIB, 240],
  [4 * KIB, 480],
];

function sizeLabel(n: number): string {
  return n >= MIB ? `${n / MIB}M` : n >= KIB ? `${n / KIB}k` : String(n);
}

function pattern(binary: boolean): Uint8Array {
  return binary ? Uint8Array.of(0xfe) : utf8('BAsd7&jh23');
}

function bigMessages(group: 1 | 2): CaseDef[] {
  const binary = group === 2;
  const kind = binary ? 'binary' : 'text';
  return SIZES.map(([size, wait], i) => ({
    id: `9.${group}.${i + 1}`,
    description: `Send ${kind} message with payload of length ${sizeLabel(size)}.`,
    expectation: `Receive echo'ed ${kind} message (with payload as sent).`,
    reportTime: true,
    timeout: wait + 10,
    run(s) {
      const payload = repeatTo(pattern(binary), size);
      bulkEcho(s, payload, binary, wait);
      s.sendFrame({ opcode: binary ? Op.binary : Op.text, payload });
    },
  }));
}

function fragmented(group: 3 | 4): CaseDef[] {
  const binary = group === 4;
  const kind = binary ? 'binary' : 'text';
  return FRAGMENTS.map((fragment, i) => ({
    id: `9.${group}.${i + 1}`,
    description: `Send fragmented ${kind} message with message payload of length 4M. Sent out in fragments ` +
      `of ${sizeLabel(fragment)}.`,
    expectation: `Receive echo'ed ${kind} message (with payload as sent).`,
    reportTime: true,
    timeout: 110,
    run(s) {
      const payload = repeatTo(binary ? Uint8Array.of(0xfe) : utf8('*'), 4 * MIB);
      bulkEcho(s, payload, binary, 100);
      s.sendMessage(payload, binary, { fragmentSize: fragment });
    },
  }));
}

function chopped(group: 5 | 6): CaseDef[] {
  const binary = group === 6;
  const kind = binary ? 'binary' : 'text';
  return CHOPS.map((chop, i) => ({
    id: `9.${group}.${i + 1}`,
    description: `Send ${kind} message with payload of length 1M. Sent out data in chops of ${chop} octets.`,
    expectation: `Receive echo'ed ${kind} message (with payload as sent).`,
    reportTime: true,
    timeout: 110,
    run(s) {
      const payload = repeatTo(pattern(binary), MIB);
      bulkEcho(s, payload, binary, 100);
      s.sendFrame({ opcode: binary ? Op.binary : Op.text, payload, chop });
    },
  }));
}

function roundTrips(group: 7 | 8): CaseDef[] {
  const binary = group === 8;
  const kind = binary ? 'binary' : 'text';
  return ROUND_TRIPS.map(([size, wait], i) => ({
    id: `9.${group}.${i + 1}`,
    description: `Send 1000 ${kind} messages of payload size ${size} to measure implementation/network RTT ` +
      '(round trip time) / latency.',
    expectation: `Receive echo'ed ${kind} messages (with payload as sent). Timeout case after ${wait} secs.`,
    reportTime: true,
    timeout: wait + 10,
    run(s) {
      const payload = repeatTo(binary ? Uint8Array.of(0xfe) : utf8('*'), size);
      let count = 0;
      s.behavior = 'FAILED';
      s.result = `Case did not finish within ${wait} seconds.`;
      s.expectedClose = { closedByMe: true, codes: [1000], requireClean: true };
      s.log.enabled = false;
      const sendOne = () => {
        count++;
        s.result = `Case did not finish: the connection ended, or the ${wait} s deadline passed, after ` +
          `${count - 1} of 1000 echoes.`;
        s.sendFrame({ opcode: binary ? Op.binary : Op.text, payload });
      };
      s.onMessage = (data, isBinary) => {
        if (isBinary !== binary || !equalBytes(data, payload)) {
          s.log.enabled = true;
          s.result = `Echo'ed message ${count} differs from what was sent (binary ${isBinary}, length ` +
            `${data.length}).`;
          s.sendClose(1000);
        } else if (count < 1000) {
          sendOne();
        } else {
          s.log.enabled = true;
          s.behavior = 'OK';
          s.result = "Ok, received all echo'ed messages in time.";
          s.sendClose(1000);
        }
      };
      s.closeAfter(wait, false);
      sendOne();
    },
  }));
}

/** Cases kept in quick mode: the first and the last of each group. */
const QUICK = new Set([
  '9.1.1',
  '9.1.6',
  '9.2.1',
  '9.2.6',
  '9.3.1',
  '9.3.9',
  '9.4.1',
  '9.4.9',
  '9.5.1',
  '9.5.6',
  '9.6.1',
  '9.6.6',
  '9.7.1',
  '9.7.6',
  '9.8.1',
  '9.8.6',
]);

/** Cases 9.1.1–9.8.6 (a subset in quick mode). */
export function limitCases(mode: Mode): CaseDef[] {
  const all = [
    ...bigMessages(1),
    ...bigMessages(2),
    ...fragmented(3),
    ...fragmented(4),
    ...chopped(5),
    ...chopped(6),
    ...roundTrips(7),
    ...roundTrips(8),
  ];
  return mode === 'full' ? all : all.filter((c) => QUICK.has(c.id));
}

/** Case 10.1.1. */
export const autoFragmentationCases: CaseDef[] = [{
  id: '10.1.1',
  description: 'Send text message with payload of length 65536 auto-fragmented with autoFragmentSize = 1300.',
  expectation: "Receive echo'ed text message (with payload as sent and transmitted frame counts as " +
    'expected). Clean close with normal code.',
  run(s) {
    const payload = repeatTo(utf8('*'), 65536);
    expectEcho(s, [message(payload)]);
    s.sendMessage(payload, false, { fragmentSize: 1300 });
    s.killAfter(10);
  },
  finish(s, e) {
    const text = s.txFrames.get(Op.text) ?? 0;
    const continuation = s.txFrames.get(Op.continuation) ?? 0;
    if (text !== 1 || continuation !== 50) {
      e.behavior = 'FAILED';
      e.result = `Frames transmitted {text: ${text}, continuation: ${continuation}} do not match what we ` +
        'expected {text: 1, continuation: 50}.';
    }
  },
}];
