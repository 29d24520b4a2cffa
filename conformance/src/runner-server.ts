/**
 * Testing a server (Autobahn's fuzzing client): every case on its own connection to an echo endpoint,
 * over raw node:net (or node:tls for wss://) sockets and the suite's own handshake.
 */

import net from 'node:net';
import tls from 'node:tls';
import type { CaseDef, CaseResult, Mode } from './case.ts';
import { acceptResponse, type DeflateAgreement, offerHeader } from './deflate.ts';
import { checkResponse, clientRequest, headerValues, HeadReader } from './handshake.ts';
import { makeReport, type Report } from './report.ts';
import { defaultSettings, failedBeforeOpen, runOnSocket, type RunSettings } from './run-case.ts';

/** Options of {@link runServerSuite}. */
export interface ServerSuiteOptions {
  /** The echo endpoint: `ws://host:port/path` or `wss://…`. */
  readonly url: string;
  readonly cases: readonly CaseDef[];
  readonly mode: Mode;
  /** Name of the implementation under test, for the report. Default: the URL's host. */
  readonly agent?: string;
  /** Accept any TLS certificate (self-signed test servers). */
  readonly insecure?: boolean;
  /** Called after each case. */
  readonly onResult?: (result: CaseResult) => void;
  readonly settings?: RunSettings;
}

/** Bound on connecting and the opening handshake, in ms. */
const HANDSHAKE_TIMEOUT = 10_000;

/** Runs the cases one after the other, each on a new connection, and returns the report. */
export async function runServerSuite(options: ServerSuiteOptions): Promise<Report> {
  const started = new Date();
  const url = new URL(options.url);
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new Error(`not a WebSocket URL: ${options.url}`);
  }
  const settings = options.settings ?? defaultSettings(options.mode === 'quick');
  const results: CaseResult[] = [];
  for (const def of options.cases) {
    const result = await runServerCase(url, def, settings, options.insecure ?? false);
    results.push(result);
    options.onResult?.(result);
  }
  return makeReport(
    'server',
    options.agent ?? url.host,
    options.url,
    options.mode === 'quick',
    started,
    results,
  );
}

/** Connects, performs the opening handshake, then runs one case. */
export function runServerCase(
  url: URL,
  def: CaseDef,
  settings: RunSettings,
  insecure: boolean,
): Promise<CaseResult> {
  const secure = url.protocol === 'wss:';
  const port = Number(url.port || (secure ? 443 : 80));
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const extensions = def.deflate ? offerHeader(def.deflate.offers) : undefined;
  const { bytes, key } = clientRequest(url.host, `${url.pathname || '/'}${url.search}`, extensions);
  const request = new TextDecoder().decode(bytes);
  return new Promise<CaseResult>((resolve) => {
    const socket: net.Socket = secure
      ? tls.connect({
        host: hostname,
        port,
        ...(net.isIP(hostname) ? {} : { servername: hostname }),
        rejectUnauthorized: !insecure,
      })
      : net.connect({ host: hostname, port });
    const reader = new HeadReader();
    let settled = false;
    const fail = (reason: string, response = '') => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(failedBeforeOpen(def, `Opening handshake failed: ${reason}`, { request, response }));
    };
    const timer = setTimeout(
      () => fail(`no handshake within ${HANDSHAKE_TIMEOUT / 1000} s`),
      HANDSHAKE_TIMEOUT,
    );
    socket.on('error', (error) => fail(error.message));
    socket.on('close', () => fail('connection closed during the handshake'));
    socket.once(secure ? 'secureConnect' : 'connect', () => socket.write(bytes));
    const onData = (data: Buffer) => {
      const got = reader.push(new Uint8Array(data.buffer, data.byteOffset, data.length));
      if (got === undefined) return;
      if (typeof got === 'string') return fail(got);
      const { head, rest } = got;
      const problem = checkResponse(head, key);
      if (problem) return fail(problem, head.raw);
      let deflate: DeflateAgreement | null = null;
      const values = headerValues(head, 'sec-websocket-extensions');
      if (def.deflate) {
        const agreed = acceptResponse(values, def.deflate.offers);
        if (typeof agreed === 'string') return fail(agreed, head.raw);
        deflate = agreed;
      } else if (values.length > 0) {
        return fail(`server accepted extensions we did not offer: ${values.join(', ')}`, head.raw);
      }
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.removeAllListeners('close');
      socket.removeAllListeners('error');
      runOnSocket(def, socket, 'client', deflate, rest, { request, response: head.raw }, settings).then(
        resolve,
      );
    };
    socket.on('data', onData);
  });
}
