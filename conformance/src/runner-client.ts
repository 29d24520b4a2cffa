/**
 * Testing a client (Autobahn's fuzzing server). Serves, on 127.0.0.1, the echo-driver protocol that
 * Autobahn's fuzzingserver established:
 *
 * - `/getCaseCount`: one text message with the number of cases, then a close;
 * - `/runCase?case=N&agent=A`: runs case N (1-based) with the client, which echoes every message until the
 *   suite closes the connection;
 * - `/getCaseInfo?case=N`: one text message, `{"id": "1.1.1", "description": ...}`, then a close;
 * - `/updateReports?agent=A`: writes the reports of agent A, then a close.
 *
 * The suite plays the server side of every case over raw sockets, with its own handshake.
 */

import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { CaseDef, CaseResult, Mode } from './case.ts';
import { acceptOffer, type DeflateAgreement, parseOffers } from './deflate.ts';
import { checkRequest, headerValues, HeadReader, httpError, serverResponse } from './handshake.ts';
import { makeReport, type Report } from './report.ts';
import { defaultSettings, runOnSocket, type RunSettings } from './run-case.ts';
import { Session, WireLog } from './session.ts';

/** Options of {@link startFuzzingServer}. */
export interface FuzzingServerOptions {
  /** Port on 127.0.0.1; 0 picks a free one. Default 9001 (Autobahn's). */
  readonly port?: number;
  readonly cases: readonly CaseDef[];
  readonly mode: Mode;
  readonly settings?: RunSettings;
  /** Called after each case. */
  readonly onResult?: (agent: string, result: CaseResult) => void;
  /** Called on `/updateReports` with the agent's report so far. */
  readonly onReport?: (report: Report) => void;
}

/** A running fuzzing server. */
export interface FuzzingServer {
  /** `ws://127.0.0.1:PORT`. */
  readonly url: string;
  readonly port: number;
  /** The report of an agent so far. */
  report(agent: string): Report;
  /** Resolves with the agent's report at its next `/updateReports`. */
  waitForReport(agent: string): Promise<Report>;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/** Starts the fuzzing server. */
export async function startFuzzingServer(options: FuzzingServerOptions): Promise<FuzzingServer> {
  const settings = options.settings ?? defaultSettings(options.mode === 'quick');
  const results = new Map<string, Map<string, CaseResult>>();
  const started = new Map<string, Date>();
  const reports = new EventEmitter();
  const sockets = new Set<net.Socket>();
  /** Cases still running: a report waits for them. */
  const pending = new Set<Promise<void>>();
  let url = '';

  const report = (agent: string): Report => {
    const byId = results.get(agent) ?? new Map<string, CaseResult>();
    const ordered = options.cases.map((c) => byId.get(c.id)).filter((r): r is CaseResult => r !== undefined);
    return makeReport(
      'client',
      agent,
      url,
      options.mode === 'quick',
      started.get(agent) ?? new Date(),
      ordered,
    );
  };

  /** Accepts the WebSocket handshake and sends `text` in one message, then closes. */
  const sendInfo = (socket: net.Socket, key: string, rest: Uint8Array, text: string) => {
    socket.write(serverResponse(key, undefined));
    const s = new Session(socket, {
      role: 'server',
      deflate: null,
      unit: settings.unit,
      closeTimeout: settings.closeTimeout,
      maxMessage: 1024,
      log: new WireLog(),
    });
    s.suppressClose = true;
    s.receive(rest);
    s.sendMessage(text, false);
    s.sendClose(1000);
  };

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const reader = new HeadReader();
    const timer = setTimeout(() => socket.destroy(), 10_000);
    const onData = (data: Buffer) => {
      const got = reader.push(new Uint8Array(data.buffer, data.byteOffset, data.length));
      if (got === undefined) return;
      clearTimeout(timer);
      socket.off('data', onData);
      if (typeof got === 'string') return void socket.end(httpError(400, got));
      const checked = checkRequest(got.head);
      if (typeof checked === 'string') return void socket.end(httpError(400, checked));
      const { key, target } = checked;
      const agent = target.query.get('agent') ?? 'unknown';
      switch (target.path) {
        case '/getCaseCount':
          return sendInfo(socket, key, got.rest, JSON.stringify(options.cases.length));
        case '/getCaseInfo': {
          const def = options.cases[Number(target.query.get('case')) - 1];
          if (!def) return void socket.end(httpError(404, 'no such case'));
          return sendInfo(
            socket,
            key,
            got.rest,
            JSON.stringify({ id: def.id, description: def.description }),
          );
        }
        case '/updateReports': {
          void Promise.all(pending).then(() => {
            const r = report(agent);
            options.onReport?.(r);
            reports.emit(agent, r);
            sendInfo(socket, key, got.rest, 'ok');
          });
          return;
        }
        case '/runCase': {
          const def = options.cases[Number(target.query.get('case')) - 1];
          if (!def) return void socket.end(httpError(404, `no case ${target.query.get('case')}`));
          let deflate: DeflateAgreement | null = null;
          if (def.deflate) {
            deflate = acceptOffer(
              parseOffers(headerValues(got.head, 'sec-websocket-extensions')),
              def.deflate.accept,
            );
          }
          const response = serverResponse(key, deflate?.header);
          socket.write(response);
          if (!started.has(agent)) started.set(agent, new Date());
          const handshake = { request: got.head.raw, response: new TextDecoder().decode(response) };
          const run = runOnSocket(def, socket, 'server', deflate, got.rest, handshake, settings).then(
            (result) => {
              if (!results.has(agent)) results.set(agent, new Map());
              results.get(agent)!.set(def.id, result);
              options.onResult?.(agent, result);
            },
          );
          pending.add(run);
          void run.finally(() => pending.delete(run));
          return;
        }
        default:
          return void socket.end(httpError(404, `unknown path ${target.path}`));
      }
    };
    socket.on('data', onData);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 9001, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  url = `ws://127.0.0.1:${port}`;
  return {
    url,
    port,
    report,
    waitForReport: (agent) => new Promise((resolve) => reports.once(agent, resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
