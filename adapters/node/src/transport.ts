/**
 * The {@link Transport} over a node:net or node:tls socket (or any node stream.Duplex, such as the socket
 * of a node:http `'upgrade'` event).
 *
 * Write backpressure uses our own high-water mark, not the socket's (fixed at creation, 16 KiB): `write`
 * compares `writableLength` with it, and every write's callback (called once that chunk reached the
 * kernel) checks whether the buffer fell below it again, which works for marks below and above node's.
 *
 * @module
 */

import type { Duplex } from 'node:stream';
import type { ClientTlsOptions, NetAddress, Transport, TransportHandler } from '@sansws/conn';
import { isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

type NodeSocket = Duplex & Partial<Pick<Socket, 'setNoDelay' | 'setTimeout'>> & {
  localAddress?: string | undefined;
  localPort?: number | undefined;
  localFamily?: string | undefined;
  remoteAddress?: string | undefined;
  remotePort?: number | undefined;
  remoteFamily?: string | undefined;
};

/** A node socket as a sansws Transport. */
export class NodeTransport implements Transport {
  readonly #socket: NodeSocket;
  #handler: TransportHandler | null = null;
  /** Chunks (or EOF / close) that arrived before `start`. */
  #early: Array<Uint8Array | 'end' | 'closed'> = [];
  #highWaterMark = 64 * 1024;
  #needDrain = false;
  #error: unknown = undefined;
  #detached = false;

  constructor(socket: Duplex) {
    this.#socket = socket as NodeSocket;
    this.#socket.setNoDelay?.(true);
    this.#socket.setTimeout?.(0);
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onClose);
    socket.on('error', this.#onError);
    socket.on('drain', this.#onDrain);
    if (socket.destroyed) queueMicrotask(this.#onClose);
  }

  start(handler: TransportHandler, options: { readonly writeHighWaterMark: number }): void {
    this.#handler = handler;
    this.#highWaterMark = options.writeHighWaterMark;
    const early = this.#early;
    this.#early = [];
    for (const item of early) {
      if (item === 'end') handler.end();
      else if (item === 'closed') handler.closed(this.#error);
      else handler.data(item);
    }
  }

  write(chunk: Uint8Array): boolean {
    if (this.#socket.destroyed || this.#socket.writableEnded) return false;
    this.#socket.write(chunk, this.#afterWrite);
    if (this.#socket.writableLength < this.#highWaterMark) return true;
    this.#needDrain = true;
    return false;
  }

  get bufferedAmount(): number {
    return this.#socket.writableLength;
  }

  end(): void {
    if (!this.#socket.writableEnded) this.#socket.end();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  get localAddress(): NetAddress | null {
    const s = this.#socket;
    return s.localAddress === undefined || s.localPort === undefined
      ? null
      : address(s.localAddress, s.localPort, s.localFamily);
  }

  get remoteAddress(): NetAddress | null {
    const s = this.#socket;
    return s.remoteAddress === undefined || s.remotePort === undefined
      ? null
      : address(s.remoteAddress, s.remotePort, s.remoteFamily);
  }

  /** The node socket. */
  get raw(): Duplex {
    return this.#socket;
  }

  startTls(options: ClientTlsOptions & { readonly servername: string }): Promise<Transport> {
    this.#detach();
    return new Promise<Transport>((resolve, reject) => {
      const secure = tlsConnect({
        socket: this.#socket as Socket,
        ...tlsOptions(options),
      });
      const onError = (error: Error): void => {
        secure.destroy();
        reject(error);
      };
      secure.once('error', onError);
      secure.once('secureConnect', () => {
        secure.off('error', onError);
        resolve(new NodeTransport(secure));
      });
    });
  }

  /** Hands the socket over (to TLS): our listeners go. */
  #detach(): void {
    this.#detached = true;
    this.#socket.off('data', this.#onData);
    this.#socket.off('end', this.#onEnd);
    this.#socket.off('close', this.#onClose);
    this.#socket.off('error', this.#onError);
    this.#socket.off('drain', this.#onDrain);
  }

  readonly #onData = (chunk: Buffer | string): void => {
    const bytes = typeof chunk === 'string'
      ? new TextEncoder().encode(chunk)
      : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.#handler === null) this.#early.push(bytes);
    else this.#handler.data(bytes);
  };
  readonly #onEnd = (): void => {
    if (this.#handler === null) this.#early.push('end');
    else this.#handler.end();
  };
  readonly #onClose = (): void => {
    if (this.#detached) return;
    this.#detached = true;
    if (this.#handler === null) this.#early.push('closed');
    else this.#handler.closed(this.#error);
  };
  readonly #onError = (error: Error): void => {
    // 'close' follows; an error without a handler must not crash the process.
    this.#error ??= error;
  };
  readonly #onDrain = (): void => this.#checkDrain();
  readonly #afterWrite = (): void => this.#checkDrain();

  #checkDrain(): void {
    if (!this.#needDrain || this.#socket.writableLength >= this.#highWaterMark) return;
    this.#needDrain = false;
    this.#handler?.drain();
  }
}

function address(ip: string, port: number, family: string | undefined): NetAddress {
  return family === undefined ? { address: ip, port } : { address: ip, port, family };
}

/** node:tls connect options for sansws's ClientTlsOptions. */
export function tlsOptions(options: ClientTlsOptions & { readonly servername: string }): {
  servername?: string;
  ca?: string | Buffer | Array<string | Buffer>;
  rejectUnauthorized?: boolean;
  ALPNProtocols?: string[];
} {
  const out: ReturnType<typeof tlsOptions> = {};
  // RFC 6066 §3: SNI carries host names only, never IP literals.
  if (isIP(options.servername) === 0) out.servername = options.servername;
  if (options.ca !== undefined) {
    const toNode = (ca: string | Uint8Array): string | Buffer =>
      typeof ca === 'string' ? ca : Buffer.from(ca.buffer, ca.byteOffset, ca.byteLength);
    out.ca = Array.isArray(options.ca) ? options.ca.map(toNode) : toNode(options.ca as string | Uint8Array);
  }
  if (options.rejectUnauthorized !== undefined) out.rejectUnauthorized = options.rejectUnauthorized;
  if (options.alpnProtocols !== undefined) out.ALPNProtocols = [...options.alpnProtocols];
  return out;
}

export type { TLSSocket };
