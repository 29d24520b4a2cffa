/**
 * The suite's own opening handshake (RFC 6455 §4), client and server side, over raw bytes. It checks the
 * peer's side strictly enough to report a broken handshake, and no more: the cases test the framing.
 */

import { createHash, randomBytes } from 'node:crypto';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const MAX_HEAD = 16 * 1024;

/** `Sec-WebSocket-Accept` for a key (§4.2.2). */
export function acceptKey(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/** A parsed request or response head. */
export interface HttpHead {
  /** The first line: `GET /path HTTP/1.1` or `HTTP/1.1 101 Switching Protocols`. */
  readonly startLine: string;
  /** Header fields in order, names lower-cased. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** The head as received, for the traffic log. */
  readonly raw: string;
}

/** All values of a header (lower-case name). */
export function headerValues(head: HttpHead, name: string): string[] {
  return head.headers.filter(([k]) => k === name).map(([, v]) => v);
}

/** Whether a comma-separated header contains a token, case-insensitively. */
export function headerHasToken(head: HttpHead, name: string, token: string): boolean {
  return headerValues(head, name).some((v) =>
    v.split(',').some((t) => t.trim().toLowerCase() === token.toLowerCase())
  );
}

/**
 * Accumulates bytes until a complete head (`\r\n\r\n`) arrived. Returns the head and the bytes after it,
 * undefined while incomplete, or an error string.
 */
export class HeadReader {
  #buffer = new Uint8Array(0);

  push(data: Uint8Array): { head: HttpHead; rest: Uint8Array } | string | undefined {
    const merged = new Uint8Array(this.#buffer.length + data.length);
    merged.set(this.#buffer);
    merged.set(data, this.#buffer.length);
    this.#buffer = merged;
    let end = -1;
    for (let i = 3; i < merged.length; i++) {
      if (merged[i] === 10 && merged[i - 1] === 13 && merged[i - 2] === 10 && merged[i - 3] === 13) {
        end = i + 1;
        break;
      }
    }
    if (end < 0) return merged.length > MAX_HEAD ? `handshake head longer than ${MAX_HEAD} bytes` : undefined;
    const raw = new TextDecoder('latin1').decode(merged.subarray(0, end));
    const lines = raw.slice(0, -4).split('\r\n');
    const headers: Array<[string, string]> = [];
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) return `malformed header line '${line}'`;
      headers.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
    }
    return { head: { startLine: lines[0] ?? '', headers, raw }, rest: merged.slice(end) };
  }
}

/** A client's opening request and the key it used. */
export function clientRequest(
  host: string,
  path: string,
  extensions: string | undefined,
): { bytes: Uint8Array; key: string } {
  const key = randomBytes(16).toString('base64');
  const lines = [
    `GET ${path} HTTP/1.1`,
    `Host: ${host}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
    'User-Agent: sansws-conformance',
  ];
  if (extensions) lines.push(`Sec-WebSocket-Extensions: ${extensions}`);
  return { bytes: new TextEncoder().encode(lines.join('\r\n') + '\r\n\r\n'), key };
}

/** Checks a server's response to our request (§4.1, the client's checks); an error string or undefined. */
export function checkResponse(head: HttpHead, key: string): string | undefined {
  const match = /^HTTP\/1\.1 (\d{3})/.exec(head.startLine);
  if (!match) return `bad status line '${head.startLine}'`;
  if (match[1] !== '101') return `server refused the upgrade: ${head.startLine}`;
  if (!headerHasToken(head, 'upgrade', 'websocket')) return 'response lacks Upgrade: websocket';
  if (!headerHasToken(head, 'connection', 'upgrade')) return 'response lacks Connection: Upgrade';
  const accept = headerValues(head, 'sec-websocket-accept');
  if (accept.length !== 1 || accept[0] !== acceptKey(key)) return 'wrong Sec-WebSocket-Accept';
  if (headerValues(head, 'sec-websocket-protocol').length > 0) {
    return 'server chose a subprotocol we did not offer';
  }
  return undefined;
}

/** A parsed request target: path and query parameters. */
export interface RequestTarget {
  readonly path: string;
  readonly query: URLSearchParams;
}

/** Checks a client's opening request (§4.2.1); the key and target, or an error string. */
export function checkRequest(head: HttpHead): { key: string; target: RequestTarget } | string {
  const match = /^GET (\S+) HTTP\/1\.1$/.exec(head.startLine);
  if (!match) return `bad request line '${head.startLine}'`;
  if (headerValues(head, 'host').length !== 1) return 'request lacks a single Host header';
  if (!headerHasToken(head, 'upgrade', 'websocket')) return 'request lacks Upgrade: websocket';
  if (!headerHasToken(head, 'connection', 'upgrade')) return 'request lacks Connection: Upgrade';
  const version = headerValues(head, 'sec-websocket-version');
  if (version.length !== 1 || version[0] !== '13') return 'request lacks Sec-WebSocket-Version: 13';
  const key = headerValues(head, 'sec-websocket-key');
  if (key.length !== 1 || Buffer.from(key[0]!, 'base64').length !== 16) return 'bad Sec-WebSocket-Key';
  const url = new URL(match[1]!, 'http://localhost');
  return { key: key[0]!, target: { path: url.pathname, query: url.searchParams } };
}

/** The server's `101 Switching Protocols` response. */
export function serverResponse(key: string, extensions: string | undefined): Uint8Array {
  const lines = [
    'HTTP/1.1 101 Switching Protocols',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Accept: ${acceptKey(key)}`,
    'Server: sansws-conformance',
  ];
  if (extensions) lines.push(`Sec-WebSocket-Extensions: ${extensions}`);
  return new TextEncoder().encode(lines.join('\r\n') + '\r\n\r\n');
}

/** A plain HTTP refusal, for requests the fuzzing server cannot serve. */
export function httpError(status: number, message: string): Uint8Array {
  const body = `${message}\n`;
  return new TextEncoder().encode(
    `HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : 'Bad Request'}\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
