/**
 * Autobahn sections 12 and 13: permessage-deflate (RFC 7692). Each case sends messages of one size, one at
 * a time, and expects each echoed exactly before the next; 12.x under the default offer with five kinds of
 * data, 13.x with JSON data under seven parameter sets (context takeover on or off, window bits 8, 15 or
 * unlimited), offered by the suite when it tests a server and requested by it when it tests a client.
 * A peer that does not negotiate the extension is UNIMPLEMENTED. Quick mode sends 5 messages per case
 * instead of 1000.
 */

import { concat, equalBytes } from '../bytes.ts';
import type { CaseDef, Mode } from '../case.ts';
import type { AcceptPolicy, DeflateOffer } from '../deflate.ts';
import { DATA_SETS, type DataSet } from './data.ts';

/** (payload length, message count, case timeout in s, fragment size) as Autobahn's MSG_SIZES. */
const MSG_SIZES: ReadonlyArray<readonly [number, number, number, number]> = [
  [16, 1000, 60, 0],
  [64, 1000, 60, 0],
  [256, 1000, 120, 0],
  [1024, 1000, 240, 0],
  [4096, 1000, 480, 0],
  [8192, 1000, 480, 0],
  [16384, 1000, 480, 0],
  [32768, 1000, 480, 0],
  [65536, 1000, 480, 0],
  [131072, 1000, 480, 0],
  [8192, 1000, 480, 256],
  [16384, 1000, 480, 256],
  [32768, 1000, 480, 256],
  [65536, 1000, 480, 256],
  [131072, 1000, 480, 256],
  [131072, 1000, 480, 1024],
  [131072, 1000, 480, 4096],
  [131072, 1000, 480, 32768],
];

const QUICK_COUNT = 5;

interface ParamSet {
  readonly offers: readonly DeflateOffer[];
  readonly accept: readonly AcceptPolicy[];
  readonly description: string;
}

const P = (requestNoContextTakeover: boolean, requestMaxWindowBits: number) => ({
  requestNoContextTakeover,
  requestMaxWindowBits,
});

/** The 13.x parameter sets: the client's offers and the server's acceptance, as Autobahn's DEFLATE_PARAMS. */
const PARAM_SETS: readonly ParamSet[] = [
  { offers: [{}], accept: [P(false, 0)], description: 'offers [(False, 0)] / accept (False, 0)' },
  { offers: [P(true, 0)], accept: [P(true, 0)], description: 'offers [(True, 0)] / accept (True, 0)' },
  { offers: [P(false, 8)], accept: [P(false, 8)], description: 'offers [(False, 8)] / accept (False, 8)' },
  {
    offers: [P(false, 15)],
    accept: [P(false, 15)],
    description: 'offers [(False, 15)] / accept (False, 15)',
  },
  { offers: [P(true, 8)], accept: [P(true, 8)], description: 'offers [(True, 8)] / accept (True, 8)' },
  { offers: [P(true, 15)], accept: [P(true, 15)], description: 'offers [(True, 15)] / accept (True, 15)' },
  {
    offers: [P(true, 8), P(true, 0), {}],
    accept: [P(true, 8), P(true, 0), P(false, 0)],
    description:
      'offers [(True, 8), (True, 0), (False, 0)] / accept first of (True, 8), (True, 0), (False, 0)',
  },
];

function deflateCase(
  id: string,
  set: DataSet,
  params: ParamSet,
  [length, fullCount, wait, fragment]: readonly [number, number, number, number],
  mode: Mode,
): CaseDef {
  const count = mode === 'full' ? fullCount : QUICK_COUNT;
  return {
    id,
    description: `Send ${count} compressed messages each of payload size ${length}, auto-fragment to ` +
      `${fragment} octets. permessage-deflate ${params.description}. Data: ${set.description}.`,
    expectation: `Receive echo'ed messages (with payload as sent). Timeout case after ${wait} secs.`,
    reportTime: true,
    timeout: wait + 10,
    deflate: { offers: params.offers, accept: params.accept },
    run(s) {
      if (s.deflate === null) {
        s.behavior = 'UNIMPLEMENTED';
        s.result = 'permessage-deflate was not negotiated.';
        s.expectedClose = { closedByMe: true, codes: [1000], requireClean: true };
        s.sendClose(1000);
        return;
      }
      const data = set.data();
      let offset = 0;
      let sent = 0;
      let expected = new Uint8Array(0);
      s.behavior = 'FAILED';
      s.result = `Case did not finish within ${wait} seconds.`;
      s.expectedClose = { closedByMe: true, codes: [1000], requireClean: true };
      s.log.enabled = false;
      const sendOne = () => {
        const end = offset + length;
        expected = end <= data.length
          ? data.slice(offset, end)
          : concat([data.subarray(offset), data.subarray(0, end - data.length)]).slice();
        offset = end % data.length;
        sent++;
        s.result = `Case did not finish: the connection ended, or the ${wait} s deadline passed, after ` +
          `${sent - 1} of ${count} echoes.`;
        s.sendMessage(expected, set.binary, fragment ? { fragmentSize: fragment } : {});
      };
      s.onMessage = (msg, binary) => {
        if (binary !== set.binary || !equalBytes(msg, expected)) {
          s.log.enabled = true;
          s.result = binary !== set.binary
            ? `Echo'ed message type differs from what I sent (got binary ${binary}).`
            : `Echo'ed message ${sent} differs from what I sent (length ${msg.length}, expected ${length}).`;
          s.sendClose(1000);
        } else if (sent < count) {
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
  };
}

/** Sub-category titles of 12.x and 13.x, for the report. */
export const compressionCategories: Record<string, string> = {};

/** Cases 12.1.1–12.5.18 and 13.1.1–13.7.18. */
export function compressionCases(mode: Mode): CaseDef[] {
  const out: CaseDef[] = [];
  DATA_SETS.forEach((set, j) => {
    compressionCategories[`12.${j + 1}`] = set.description;
    MSG_SIZES.forEach((size, i) =>
      out.push(deflateCase(`12.${j + 1}.${i + 1}`, set, PARAM_SETS[0]!, size, mode))
    );
  });
  const json = DATA_SETS[0]!;
  PARAM_SETS.forEach((params, j) => {
    compressionCategories[`13.${j + 1}`] = `${json.description} - ${params.description}`;
    MSG_SIZES.forEach((size, i) => out.push(deflateCase(`13.${j + 1}.${i + 1}`, json, params, size, mode)));
  });
  return out;
}
