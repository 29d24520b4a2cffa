/**
 * What a case is (data plus a small script), how its outcome is judged, and what a result records.
 *
 * Judging follows Autobahn: the observed events are compared with each expected list (OK first, then
 * NON-STRICT, ...), the close is judged separately (who closed, with which code, cleanly or not), then both
 * are folded into one result. We are stricter than Autobahn in two places, both written down in README.md:
 * a wrong close code or an unclean close where a clean one is required fails the case (Autobahn only marks
 * the close column), and any RFC violation by the peer that the suite notices fails the case.
 */

import { toDisplayText, toHex, utf8 } from './bytes.ts';
import type { AcceptPolicy, DeflateOffer } from './deflate.ts';
import {
  type Behavior,
  type CloseBehavior,
  equalObserved,
  type Observed,
  type Session,
  type WireEntry,
} from './session.ts';

/** Suite modes: quick (CI) or full. */
export type Mode = 'quick' | 'full';

/** One case: its number, what it does and expects, and the script that does it. */
export interface CaseDef {
  /** Autobahn's number, e.g. `6.4.1`. */
  readonly id: string;
  readonly description: string;
  readonly expectation: string;
  /** Runs when the connection is open: sends, sets expectations, arms timers. */
  readonly run: (s: Session) => void;
  /** Adjusts the evaluation afterwards (e.g. INFORMATIONAL cases, frame counts). */
  readonly finish?: (s: Session, r: Evaluation) => void;
  /** permessage-deflate: what to offer (testing a server) and how to answer offers (testing a client). */
  readonly deflate?: { readonly offers: readonly DeflateOffer[]; readonly accept: readonly AcceptPolicy[] };
  /** Hard bound on the whole case, in real seconds. Default 15. */
  readonly timeout?: number;
  /** Report the case's duration (performance cases). */
  readonly reportTime?: boolean;
}

/** The judged outcome of one case, before it becomes a result. */
export interface Evaluation {
  behavior: Behavior;
  result: string;
  behaviorClose: CloseBehavior;
  resultClose: string;
}

/** An observed event as stored in reports. */
export interface ObservedRecord {
  readonly type: Observed['type'];
  readonly binary?: boolean;
  readonly length?: number;
  /** Text shown for messages and control payloads (cut), or the timeout tag. */
  readonly data?: string;
}

/** One case's result, as written to the JSON report. */
export interface CaseResult {
  readonly id: string;
  readonly description: string;
  readonly expectation: string;
  /** The overall class of the case. */
  readonly result: Behavior;
  /** Why. */
  readonly reason: string;
  readonly behavior: Behavior;
  readonly behaviorClose: CloseBehavior;
  readonly resultClose: string;
  readonly durationMs: number;
  readonly reportTime: boolean;
  readonly closedByMe: boolean;
  readonly droppedByMe: boolean;
  readonly wasClean: boolean;
  readonly remoteCloseCode: number | null;
  readonly remoteCloseReason: string | null;
  readonly violation: string | null;
  readonly extensions: string | null;
  readonly received: readonly ObservedRecord[];
  readonly expected: Partial<Record<Behavior, readonly ObservedRecord[]>>;
  readonly expectedClose: { closedByMe: boolean; codes: readonly number[]; requireClean: boolean };
  /** The traffic (handshake and frames), kept for every result other than OK. */
  readonly handshake?: { readonly request: string; readonly response: string };
  readonly wirelog?: readonly WireEntry[];
  readonly wirelogDropped?: number;
}

// ---- expected-event constructors, used by the case scripts ----------------------------------------------

/** A text (default) or binary message. */
export function message(data: Uint8Array | string, binary = false): Observed {
  return { type: 'message', binary, data: typeof data === 'string' ? utf8(data) : data };
}

/** A pong with this payload. */
export function pong(data: Uint8Array | string = new Uint8Array(0)): Observed {
  return { type: 'pong', data: typeof data === 'string' ? utf8(data) : data };
}

/** A wait that ran out (the peer had not closed). */
export function timeout(tag: string): Observed {
  return { type: 'timeout', tag };
}

/** Close codes (RFC 6455 §7.4.1). */
export const Code = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  unsupported: 1003,
  invalidPayload: 1007,
  policy: 1008,
  tooBig: 1009,
  extension: 1010,
  internal: 1011,
} as const;

/** Expect an echo of everything and a clean close started by the suite (most positive cases). */
export function expectEcho(s: Session, events: Observed[]): void {
  s.expected = { OK: events };
  s.expectedClose = { closedByMe: true, codes: [Code.normal], requireClean: true };
}

/** Expect the peer to fail the connection with `code`, after `events` (the negative cases). */
export function expectFail(
  s: Session,
  code: number,
  events: Observed[] = [],
  nonStrict?: Observed[],
): void {
  s.expected = nonStrict ? { OK: events, 'NON-STRICT': nonStrict } : { OK: events };
  s.expectedClose = { closedByMe: false, codes: [code], requireClean: false };
}

// ---- judging ----------------------------------------------------------------------------------------------

const ORDER: readonly Behavior[] = ['OK', 'NON-STRICT', 'INFORMATIONAL', 'UNIMPLEMENTED', 'FAILED'];

/** Judges a finished session (Autobahn's `onConnectionLost`). */
export function evaluate(s: Session, isServerUnderTest: boolean): Evaluation {
  const e: Evaluation = {
    behavior: 'FAILED',
    result: 'Actual events differ from any expected.',
    behaviorClose: 'FAILED',
    resultClose: 'TCP connection was dropped without close handshake',
  };
  if (s.behavior !== undefined) {
    e.behavior = s.behavior;
    e.result = s.result;
  } else {
    for (const b of ORDER) {
      const events = s.expected[b];
      if (events && equalObserved(s.received, events)) {
        e.behavior = b;
        e.result = 'Actual events match at least one expected.';
        break;
      }
    }
  }
  const closedByMe = s.closedByMe ?? false;
  const wasClean = s.closeSent && s.closeReceived && s.violation === undefined;
  if (s.expectedClose.closedByMe !== closedByMe) {
    e.behaviorClose = 'FAILED';
    e.resultClose = 'The connection was failed by the wrong endpoint';
  } else if (s.expectedClose.requireClean && !wasClean) {
    e.behaviorClose = 'UNCLEAN';
    e.resultClose = 'The spec requires the connection to be failed cleanly here';
  } else if (s.remoteCloseCode !== undefined && !s.expectedClose.codes.includes(s.remoteCloseCode)) {
    e.behaviorClose = 'WRONG CODE';
    e.resultClose = `The close code should have been ${s.expectedClose.codes.join(',')} or empty`;
  } else if (isServerUnderTest && s.droppedByMe) {
    e.behaviorClose = 'FAILED BY CLIENT';
    e.resultClose = 'It is preferred that the server close the TCP connection';
  } else {
    e.behaviorClose = 'OK';
    e.resultClose = 'Connection was properly closed';
  }
  return e;
}

/** Folds behavior, close behavior and violations into the case's class, with the reason. */
export function overall(s: Session, e: Evaluation): { result: Behavior; reason: string } {
  // Cases whose outcome the RFC leaves open are INFORMATIONAL whatever happened; UNIMPLEMENTED is final too.
  if (e.behavior === 'INFORMATIONAL' || e.behavior === 'UNIMPLEMENTED') {
    const extra = s.violation !== undefined ? ` (note: ${s.violation})` : '';
    return { result: e.behavior, reason: e.result + extra };
  }
  if (s.violation !== undefined) return { result: 'FAILED', reason: `Peer violated the RFC: ${s.violation}` };
  if (e.behavior === 'FAILED') return { result: e.behavior, reason: e.result };
  switch (e.behaviorClose) {
    case 'FAILED':
    case 'UNCLEAN':
    case 'WRONG CODE':
      return { result: 'FAILED', reason: `${e.behaviorClose}: ${e.resultClose}` };
    case 'FAILED BY CLIENT':
      return { result: 'NON-STRICT', reason: `${e.behaviorClose}: ${e.resultClose}` };
    default:
      return { result: e.behavior, reason: e.result };
  }
}

/** An observed event for the report. */
export function recordObserved(o: Observed): ObservedRecord {
  if (o.type === 'timeout') return { type: o.type, data: o.tag };
  const shown = o.type === 'message' && o.binary ? toHex(o.data, 64) : toDisplayText(o.data, 256);
  return {
    type: o.type,
    ...(o.type === 'message' ? { binary: o.binary } : {}),
    length: o.data.length,
    data: shown,
  };
}
