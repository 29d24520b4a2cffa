/**
 * Runs one case on an open connection, whichever side the suite plays, and turns the outcome into a result.
 */

import type net from 'node:net';
import { type CaseDef, type CaseResult, evaluate, type Evaluation, overall, recordObserved } from './case.ts';
import type { DeflateAgreement } from './deflate.ts';
import { type Behavior, Session, WireLog } from './session.ts';

/** Settings shared by both runners. */
export interface RunSettings {
  /** Milliseconds per Autobahn second for the cases' waits. */
  readonly unit: number;
  /** How long to wait for close frames and TCP closes, in ms. */
  readonly closeTimeout: number;
  /** Largest message accepted from the peer, in bytes. */
  readonly maxMessage: number;
}

/** Defaults: Autobahn's timing in full mode, half of it in quick mode. */
export function defaultSettings(quick: boolean): RunSettings {
  return { unit: quick ? 500 : 1000, closeTimeout: 2000, maxMessage: 32 * 1024 * 1024 };
}

/** What the handshake looked like, for the report. */
export interface HandshakeRecord {
  readonly request: string;
  readonly response: string;
}

/** Runs `def` on `socket`, which has just completed the opening handshake; `rest` are bytes that followed. */
export async function runOnSocket(
  def: CaseDef,
  socket: net.Socket,
  role: 'client' | 'server',
  deflate: DeflateAgreement | null,
  rest: Uint8Array,
  handshake: HandshakeRecord,
  settings: RunSettings,
): Promise<CaseResult> {
  const log = new WireLog();
  const session = new Session(socket, {
    role,
    deflate,
    unit: settings.unit,
    closeTimeout: settings.closeTimeout,
    maxMessage: settings.maxMessage,
    log,
  });
  const limit = (def.timeout ?? 15) * 1000;
  const deadline = setTimeout(() => session.abort(`case did not finish within ${limit / 1000} s`), limit);
  try {
    def.run(session);
  } catch (error) {
    session.abort(`case script threw: ${(error as Error).stack ?? String(error)}`);
  }
  session.receive(rest);
  await session.done;
  clearTimeout(deadline);
  const evaluation = evaluate(session, role === 'client');
  def.finish?.(session, evaluation);
  return toResult(def, session, evaluation, handshake);
}

function toResult(def: CaseDef, s: Session, e: Evaluation, handshake: HandshakeRecord): CaseResult {
  const { result, reason } = overall(s, e);
  const expected: Partial<Record<Behavior, ReturnType<typeof recordObserved>[]>> = {};
  for (const [k, v] of Object.entries(s.expected)) expected[k as Behavior] = v.map(recordObserved);
  const keepTraffic = result !== 'OK';
  return {
    id: def.id,
    description: def.description,
    expectation: def.expectation,
    result,
    reason,
    behavior: e.behavior,
    behaviorClose: e.behaviorClose,
    resultClose: e.resultClose,
    durationMs: Math.round(s.endedAt - s.startedAt),
    reportTime: def.reportTime ?? false,
    closedByMe: s.closedByMe ?? false,
    droppedByMe: s.droppedByMe,
    wasClean: s.closeSent && s.closeReceived && s.violation === undefined,
    remoteCloseCode: s.remoteCloseCode ?? null,
    remoteCloseReason: s.remoteCloseReason ?? null,
    violation: s.violation ?? null,
    extensions: s.deflate?.header ?? null,
    received: s.received.slice(0, 50).map(recordObserved),
    expected,
    expectedClose: { ...s.expectedClose },
    ...(keepTraffic ? { handshake, wirelog: s.log.entries, wirelogDropped: s.log.dropped } : {}),
  };
}

/** A result for a case that never got a WebSocket connection. */
export function failedBeforeOpen(def: CaseDef, reason: string, handshake: HandshakeRecord): CaseResult {
  return {
    id: def.id,
    description: def.description,
    expectation: def.expectation,
    result: 'FAILED',
    reason,
    behavior: 'FAILED',
    behaviorClose: 'FAILED',
    resultClose: 'The WebSocket connection was never open',
    durationMs: 0,
    reportTime: false,
    closedByMe: false,
    droppedByMe: false,
    wasClean: false,
    remoteCloseCode: null,
    remoteCloseReason: null,
    violation: null,
    extensions: null,
    received: [],
    expected: {},
    expectedClose: { closedByMe: false, codes: [], requireClean: false },
    handshake,
    wirelog: [],
  };
}
