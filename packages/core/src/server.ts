/**
 * The server role: parses (or is handed) the handshake request, lets the application accept or reject
 * it, then runs the frame protocol.
 */

import { createCompressor, type ServerCompressionOptions, serverExtensionHook } from './compression.ts';
import { Connection, type ConnectionOptions } from './connection.ts';
import { HandshakeError, type HeaderField, UsageError } from './errors.ts';
import { acceptRequest, rejectResponse, type ServerHandshakeOptions } from './handshake.ts';
import { type HttpRequest, type HttpResponse, RequestHeadParser, serializeResponse } from './http.ts';
import { checkCommand } from './states.ts';

/** Options of a server connection: the engine's, the handshake policy's, and compression. */
export interface ServerConnectionOptions extends ConnectionOptions, ServerHandshakeOptions {
  /** Accept permessage-deflate (RFC 7692) with these settings and codec. Off when absent. */
  compression?: ServerCompressionOptions | undefined;
}

/** The outcome of {@link ServerConnection.accept}. */
export type AcceptOutcome =
  | { readonly ok: true; readonly response: HttpResponse }
  | { readonly ok: false; readonly response: HttpResponse; readonly error: HandshakeError };

/**
 * A server-side connection. Feed it the bytes of a raw socket from the first byte (it parses the HTTP
 * request), or hand it a request another HTTP server parsed with {@link ServerConnection.receiveRequest}.
 * On the `request` event, call `accept()` or `reject()`.
 */
export class ServerConnection extends Connection {
  readonly role = 'server' as const;
  readonly #options: ServerConnectionOptions;
  readonly #parser: RequestHeadParser;
  #request: HttpRequest | null = null;
  #pending: Uint8Array[] = [];
  #pendingLength = 0;

  constructor(options: ServerConnectionOptions = {}) {
    super(options);
    this.#options = options;
    this.#parser = new RequestHeadParser(this.settings.maxHandshakeSize);
  }

  /** The handshake request, once received. */
  get request(): HttpRequest | null {
    return this.#request;
  }

  /**
   * Hands over a request whose head was already parsed elsewhere (e.g. node:http's 'upgrade' event).
   * Pass any bytes that followed the head (`head` in node:http) to `receiveData` afterwards.
   */
  receiveRequest(request: HttpRequest): void {
    checkCommand('receive a request', this.state);
    if (this.#request !== null) throw new UsageError('INVALID_STATE', 'a request was already received');
    this.#request = request;
    this.emit({ type: 'request', request });
  }

  /**
   * Validates the request (RFC 6455 §4.2.1) with the connection's handshake options, overridden by
   * `options`, and answers it: 101 and `open`, or an error status and `closed`.
   */
  accept(options: ServerHandshakeOptions = {}): AcceptOutcome {
    checkCommand('accept', this.state);
    const request = this.#requireRequest('accept');
    const merged: ServerHandshakeOptions = { ...this.#options, ...options };
    const compression = this.#options.compression;
    if (compression !== undefined && merged.negotiateExtensions === undefined) {
      merged.negotiateExtensions = serverExtensionHook(compression);
    }
    const result = acceptRequest(request, merged);
    const bytes = serializeResponse(result.response);
    if (!result.ok) {
      this.handshakeFailed(result.error, bytes);
      return { ok: false, response: result.response, error: result.error };
    }
    this.write(bytes);
    const rest = joinPending(this.#pending, this.#pendingLength);
    this.#pending = [];
    this.opened(
      result.subprotocol,
      result.extensionsHeader,
      createCompressor(result.extensions, 'server', compression),
      rest,
    );
    return { ok: true, response: result.response };
  }

  /** Refuses the handshake with `status` (4xx/5xx), an optional short body and extra headers. */
  reject(status: number, body?: string | Uint8Array, headers?: readonly HeaderField[]): HttpResponse {
    checkCommand('reject', this.state);
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new UsageError('INVALID_ARGUMENT', `a refusal needs a 4xx or 5xx status, got ${status}`);
    }
    const response = rejectResponse(status, body, headers);
    this.handshakeFailed(
      new HandshakeError('REJECTED', status, 'the application refused the handshake'),
      serializeResponse(response),
    );
    return response;
  }

  protected receiveHandshake(data: Uint8Array): void {
    if (this.#request !== null) {
      // RFC 6455 §4.1: the client waits for the response before sending frames; tolerate a little.
      this.#pendingLength += data.length;
      if (this.#pendingLength > this.settings.maxHandshakeSize) {
        const error = new HandshakeError(
          'MALFORMED_HTTP',
          400,
          'too much data sent before the handshake completed',
        );
        this.handshakeFailed(error, serializeResponse(rejectResponse(400, error.message)));
        return;
      }
      this.#pending.push(data);
      return;
    }
    const result = this.#parser.push(data);
    if (result.kind === 'incomplete') return;
    if (result.kind === 'error') {
      this.handshakeFailed(
        result.error,
        serializeResponse(rejectResponse(result.error.status, result.error.message)),
      );
      return;
    }
    this.#request = result.request;
    this.emit({ type: 'request', request: result.request });
    if (result.rest.length > 0) this.receiveHandshake(result.rest);
  }

  protected handshakeEof(): void {
    this.handshakeFailed(
      new HandshakeError('UNEXPECTED_EOF', 0, 'the transport closed during the handshake'),
      null,
    );
  }

  #requireRequest(command: string): HttpRequest {
    if (this.#request === null) {
      throw new UsageError('INVALID_STATE', `cannot ${command} before a request was received`);
    }
    return this.#request;
  }
}

function joinPending(pieces: Uint8Array[], length: number): Uint8Array {
  if (pieces.length === 1) return pieces[0]!;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  return out;
}
