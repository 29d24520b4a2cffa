/**
 * Messages encoded once and sent on many connections (the basis of broadcast, as gorilla/websocket's
 * `PreparedMessage`). A server connection without compression for the message sends the very same frame
 * bytes; client connections (which mask every frame) and compressing ones encode it themselves.
 */

import { usageError } from './errors.ts';
import { COPY_THRESHOLD, headerSize, OP_BINARY, OP_TEXT, writeHeader } from './frames.ts';
import { utf8Decoder, utf8Encoder } from './platform.ts';

const frames = new WeakMap<PreparedMessage, readonly Uint8Array[]>();

/** A data message whose unmasked frame is encoded once. Treat its payload as immutable once prepared. */
export class PreparedMessage {
  /** The message type. */
  readonly type: 'text' | 'binary';
  /** The payload (UTF-8 for text). */
  readonly data: Uint8Array;
  #text: string | undefined;

  constructor(type: 'text' | 'binary', data: string | Uint8Array) {
    if (type !== 'text' && type !== 'binary') {
      throw usageError(`unknown message type ${String(type)}`);
    }
    this.type = type;
    if (typeof data === 'string') {
      this.data = utf8Encoder.encode(data);
      if (type === 'text') this.#text = data;
    } else {
      this.data = data;
    }
  }

  /** Payload size in bytes. */
  get size(): number {
    return this.data.length;
  }

  /** The payload as text (decoded once, on demand). */
  get text(): string {
    return this.#text ??= utf8Decoder.decode(this.data);
  }
}

/** The message's unmasked frame, FIN set, no RSV bits (RFC 6455 §5.2): encoded on first use, then shared. */
export function serverFrame(message: PreparedMessage): readonly Uint8Array[] {
  let chunks = frames.get(message);
  if (chunks === undefined) {
    const payload = message.data;
    const length = payload.length;
    const opcode = message.type === 'text' ? OP_TEXT : OP_BINARY;
    const header = new Uint8Array(headerSize(length, false) + (length <= COPY_THRESHOLD ? length : 0));
    const offset = writeHeader(header, 0, true, false, opcode, length, null);
    if (length <= COPY_THRESHOLD) {
      header.set(payload, offset);
      chunks = [header];
    } else {
      chunks = [header, payload];
    }
    frames.set(message, chunks);
  }
  return chunks;
}
