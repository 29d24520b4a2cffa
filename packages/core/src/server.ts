/**
 * The server role: parses (or is handed) the handshake request, lets the application accept or reject
 * it, then runs the frame protocol.
 */

import type { ServerCompression } from './compression.ts';
import { Connection, type ConnectionOptions } from './connection.ts';
import { HandshakeError, type HeaderField, usageError } from './errors.ts';
import { acceptRequest, rejectResponse, type ServerHandshakeOptions } from './handshake.ts';
import { concat, type HttpRequest, type HttpResponse, RequestHeadParser, serializeResponse } from './http.ts';
import { checkCommand } from './states.ts';
import { EMPTY } from './frames.ts';

/** Options of a server connection: the engine's, the handshake policy's, and compression. */
export interface ServerConnectionOptions extends ConnectionOptions, ServerHandshakeOptions {
  /**
   * A compression extension to accept, such as `serverPerMessageDeflate({ codec })` from
   * `@sansws/core/deflate` (RFC 7692). Off when absent. A `negotiateExtensions` hook, if given, replaces it.
   */
  compression?: ServerCompression | undefined;
}

/** The outcome of {@link ServerConnection.accept}. */
export type AcceptOutcome =
  | { readonly ok: true; readonly response: HttpResponse }
  | { readonly ok: false; readonly response: HttpResponse; readonly error: HandshakeError };

/** What only the opening handshake uses (one object, dropped once the handshake is over). */
interface Opening {
  readonly options: ServerConnectionOptions;
  /** Made by the first handshake bytes, dropped once the request is parsed. */
  parser?: RequestHeadParser | undefined;
  /** Bytes sent after the request, before the response (RFC 6455 §4.1 forbids it): frames, at most a few. */
  pending?: Uint8Array;
}

/**
 * A server-side connection. Feed it the bytes of a raw socket from the first byte (it parses the HTTP
 * request), or hand it a request another HTTP server parsed with {@link ServerConnection.receiveRequest}.
 * On the `request` event, call `accept()` or `reject()`.
 */
export class ServerConnection extends Connection {
  #opening: Opening | null;
  #request: HttpRequest | null = null;

  constructor(options: ServerConnectionOptions = {}) {
    super(options);
    this.#opening = { options };
  }

  /** 'server' (a getter, not a field: one less on every engine). */
  get role(): 'server' {
    return 'server';
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
    if (this.#request !== null) throw usageError('a request was already received', 'INVALID_STATE');
    this.#request = request;
    this.emit({ type: 'request', request });
  }

  /**
   * Validates the request (RFC 6455 §4.2.1) with the connection's handshake options, overridden by
   * `options`, and answers it: 101 and `open`, or an error status and `closed`.
   */
  accept(options: ServerHandshakeOptions = {}): AcceptOutcome {
    checkCommand('accept', this.state);
    const request = this.#request;
    if (request === null) throw usageError('no request received yet', 'INVALID_STATE');
    const opening = this.#opening!;
    const merged: ServerHandshakeOptions = { ...opening.options, ...options };
    // Compression applies only when its own negotiation ran (an application hook replaces it).
    const compression = merged.negotiateExtensions === undefined ? opening.options.compression : undefined;
    if (compression !== undefined) merged.negotiateExtensions = compression.negotiate;
    const result = acceptRequest(request, merged);
    const bytes = serializeResponse(result.response);
    this.#opening = null;
    if (!result.ok) {
      this.handshakeFailed(result.error, bytes);
      return { ok: false, response: result.response, error: result.error };
    }
    this.write(bytes);
    const rest = opening.pending ?? EMPTY;
    this.opened(
      result.subprotocol,
      result.extensionsHeader,
      compression === undefined || result.extensions == null
        ? null
        : compression.compressor(result.extensions),
      rest,
    );
    return { ok: true, response: result.response };
  }

  /** Refuses the handshake with `status` (4xx/5xx), an optional short body and extra headers. */
  reject(status: number, body?: string | Uint8Array, headers?: readonly HeaderField[]): HttpResponse {
    checkCommand('reject', this.state);
    // rejectResponse checks the rest: an integer up to 599.
    if (status < 400) throw usageError(`a refusal needs a 4xx or 5xx status, got ${status}`);
    const response = rejectResponse(status, body, headers);
    this.handshakeFailed(
      new HandshakeError('REJECTED', status, 'refused by the application'),
      serializeResponse(response),
    );
    return response;
  }

  protected receiveHandshake(data: Uint8Array): void {
    const opening = this.#opening!;
    if (this.#request !== null) {
      // RFC 6455 §4.1: the client waits for the response before sending frames; tolerate a little.
      const pending = opening.pending;
      const all = pending === undefined ? data : concat([pending, data], pending.length + data.length);
      if (all.length > this.settings.maxHandshakeSize) {
        this.#refuse(
          new HandshakeError('MALFORMED_HTTP', 400, 'too much data before the handshake completed'),
        );
        return;
      }
      opening.pending = all;
      return;
    }
    const result = (opening.parser ??= new RequestHeadParser(this.settings.maxHandshakeSize)).push(data);
    if (result.kind === 'incomplete') return;
    if (result.kind === 'error') {
      this.#refuse(result.error);
      return;
    }
    this.#request = result.request;
    opening.parser = undefined;
    this.emit({ type: 'request', request: result.request });
    if (result.rest.length > 0) this.receiveHandshake(result.rest);
  }

  protected handshakeEof(): void {
    this.handshakeFailed(
      new HandshakeError('UNEXPECTED_EOF', 0, 'the transport closed during the handshake'),
      null,
    );
  }

  /** Fails the handshake with `error`, answering its status with its message as the body. */
  #refuse(error: HandshakeError): void {
    this.handshakeFailed(error, serializeResponse(rejectResponse(error.status, error.message)));
  }
}
