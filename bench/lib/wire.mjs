// @ts-check
/**
 * The load generator's wire format: payloads, pre-built masked client frames and a minimal reader of the
 * server's echoes that still checks every byte.
 *
 * Everything a cell sends is built once before the cell starts (a frame repeated `inflight` times, so one
 * `write` refills the pipeline after any number of echoes); per echo the reader only decodes the 2–14 byte
 * header and compares the payload in place with the expected bytes (`Buffer.compare` on views, no copy),
 * so the generator stays cheaper than the servers it drives.
 *
 * Raw TCP servers echo our masked frames byte for byte, so their echoes carry the MASK bit and a masked
 * payload: the reader compares those against the masked bytes we sent.
 *
 * @module
 */

import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';

/** The four bytes every permessage-deflate message ends with before they are stripped (RFC 7692 §7.2.1). */
const DEFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/** A fixed, non-zero masking key: servers must unmask whatever the key is, and a zero key would be a shortcut. */
export const MASK_KEY = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
/** The handshake key of every connection (the server's answer is checked against it). */
export const WS_KEY = 'c2Fuc3dzLWJlbmNoLWtleQ==';
const WS_ACCEPT = createHash('sha1').update(WS_KEY + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');

/**
 * A deterministic payload of exactly `size` bytes: random-looking bytes for binary (incompressible), JSON-like
 * UTF-8 with some multi-byte characters for text (so servers really validate UTF-8, and deflate has something
 * to do).
 * @param {number} size
 * @param {'text' | 'binary'} type
 * @returns {Buffer}
 */
export function makePayload(size, type) {
  if (type === 'binary') {
    const out = Buffer.allocUnsafe(size);
    let x = 0x9e3779b9 ^ size;
    for (let i = 0; i < size; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  }
  const parts = [];
  let length = 0;
  for (let i = 0; length < size; i++) {
    const record = `{"id":${i},"user":"zoë-${i % 97}","ok":${i % 3 === 0},"score":${(i * 0.37) % 1},` +
      `"tags":["alpha","βeta","✓"]},`;
    parts.push(record);
    length += Buffer.byteLength(record);
  }
  const text = Buffer.from(parts.join(''));
  // Cut at a character boundary, then pad with ASCII to the exact size.
  let end = size;
  while (end > 0 && (text[end] ?? 0) >= 0x80 && (text[end] ?? 0) < 0xc0) end--;
  const out = Buffer.alloc(size, 0x20);
  text.copy(out, 0, 0, end);
  return out;
}

/**
 * One masked client frame (FIN set).
 * @param {number} opcode
 * @param {Buffer} payload the bytes on the wire (already compressed when `rsv1`)
 * @param {boolean} rsv1
 * @returns {Buffer}
 */
export function maskedFrame(opcode, payload, rsv1 = false) {
  const n = payload.length;
  const headerLength = n < 126 ? 6 : n < 65536 ? 8 : 14;
  const frame = Buffer.allocUnsafe(headerLength + n);
  frame[0] = 0x80 | (rsv1 ? 0x40 : 0) | opcode;
  if (n < 126) frame[1] = 0x80 | n;
  else if (n < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(0, 2);
    frame.writeUInt32BE(n, 6);
  }
  MASK_KEY.copy(frame, headerLength - 4);
  for (let i = 0; i < n; i++) frame[headerLength + i] = (payload[i] ?? 0) ^ (MASK_KEY[i & 3] ?? 0);
  return frame;
}

/**
 * Everything a cell sends and expects, built once.
 * @typedef {object} Message
 * @property {Buffer} frame the masked frame we send
 * @property {Buffer} payload the payload a WebSocket server echoes (uncompressed)
 * @property {Buffer} maskedPayload the payload bytes of `frame` (what a raw TCP echo sends back)
 * @property {number} opcode
 */

/**
 * @param {number} size
 * @param {'text' | 'binary'} type
 * @param {boolean} compress
 * @returns {Message}
 */
export function makeMessage(size, type, compress) {
  const payload = makePayload(size, type);
  const opcode = type === 'text' ? 1 : 2;
  let wire = payload;
  if (compress) {
    // No context takeover on our side (always allowed, RFC 7692 §7.1.1.1), so one compressed frame serves
    // every send.
    const deflated = zlib.deflateRawSync(payload, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    wire = deflated.subarray(0, deflated.length - 4);
  }
  const frame = maskedFrame(opcode, wire, compress);
  return { frame, payload, maskedPayload: frame.subarray(frame.length - wire.length), opcode };
}

/** A masked close frame, code 1000. */
export const CLOSE_FRAME = maskedFrame(8, Buffer.from([0x03, 0xe8]));

/**
 * The opening handshake request.
 * @param {number} port
 * @param {boolean} compress offer permessage-deflate (client_no_context_takeover: we send pre-built frames)
 * @returns {string}
 */
export function handshakeRequest(port, compress) {
  return `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${WS_KEY}\r\nSec-WebSocket-Version: 13\r\n` +
    (compress ? 'Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n' : '') + '\r\n';
}

/**
 * Checks a response head: 101, the right accept value; returns whether permessage-deflate was accepted.
 * Raw TCP servers answer a fixed 101 without an accept value; `raw` skips that check.
 * @param {string} head
 * @param {boolean} raw
 * @returns {{ deflate: boolean }}
 */
export function checkResponse(head, raw) {
  if (!head.startsWith('HTTP/1.1 101')) throw new Error(`handshake refused: ${head.split('\r\n')[0]}`);
  const lower = head.toLowerCase();
  if (!raw && !lower.includes(WS_ACCEPT.toLowerCase())) throw new Error('wrong Sec-WebSocket-Accept');
  return { deflate: /sec-websocket-extensions:[^\r\n]*permessage-deflate/.test(lower) };
}

/**
 * A raw inflater that keeps its window across messages (the server may use context takeover) and runs
 * synchronously. Node has no public API for that (zlib.inflateRawSync starts afresh and closes its stream),
 * so this drives the stream's native handle the way Node's own zlibBufferSync does, without closing it.
 * Benchmark-only: it relies on Node 20's internal `_handle.writeSync` and `_writeState`.
 */
class SyncInflater {
  /** @param {number} expectedLength */
  constructor(expectedLength) {
    const stream = /** @type {any} */ (zlib.createInflateRaw());
    /** @type {{ writeSync: Function, onerror: (message: string) => void }} */
    this.handle = stream._handle;
    /** @type {Uint32Array} */
    this.state = stream._writeState;
    this.stream = stream;
    /** One byte more than a correct message inflates to, so that a longer one is caught. */
    this.out = Buffer.allocUnsafe(expectedLength + 1);
    /** @type {string | null} */
    this.error = null;
    this.handle.onerror = (message) => {
      this.error = message;
    };
  }

  /**
   * @param {Buffer} input one message's payload with the 00 00 ff ff tail restored
   * @returns {Buffer} a view of the inflated bytes (valid until the next call)
   */
  inflate(input) {
    const out = this.out;
    let inOffset = 0;
    let available = input.length;
    let have = 0;
    for (let round = 0; round < 1_000_000; round++) {
      this.handle.writeSync(
        zlib.constants.Z_SYNC_FLUSH,
        input,
        inOffset,
        available,
        out,
        have,
        out.length - have,
      );
      if (this.error !== null) throw new Error(`inflating an echo: ${this.error}`);
      const outLeft = this.state[0] ?? 0;
      const inLeft = this.state[1] ?? 0;
      inOffset += available - inLeft;
      available = inLeft;
      have = out.length - outLeft;
      if (outLeft !== 0 || have === out.length) break;
    }
    return out.subarray(0, have);
  }
}

/**
 * Reads a server's echoes of one repeated message on one connection and checks each byte: incremental over
 * arbitrary chunking, header bytes copied only when a header spans two chunks, payloads compared in place.
 * Compressed echoes (RSV1) are inflated with one inflater per connection (the server may keep its context),
 * via zlib's synchronous chunk processing.
 */
export class EchoReader {
  /**
   * @param {Message} message
   * @param {boolean} masked the server echoes our masked frames (raw TCP)
   * @param {(count: number) => void} onEchoes called once per chunk with the number of whole echoes in it
   * @param {(frame: Buffer) => void} reply sends a control frame back (pong)
   */
  constructor(message, masked, onEchoes, reply) {
    this.expected = masked ? message.maskedPayload : message.payload;
    this.opcode = message.opcode;
    this.onEchoes = onEchoes;
    this.reply = reply;
    /** @type {Buffer} */
    this.header = Buffer.allocUnsafe(14);
    this.headerHave = 0;
    /** 0: reading a header; 1: reading a payload */
    this.state = 0;
    this.remaining = 0;
    /** offset into `expected` of the next payload byte (across continuation frames) */
    this.offset = 0;
    this.opcodeOfFrame = 0;
    this.fin = true;
    this.compressed = false;
    /** @type {Buffer[]} */
    this.parts = [];
    /** @type {Buffer[]} control frame payload */
    this.control = [];
    this.closed = false;
    /** @type {SyncInflater | null} */
    this.inflater = null;
  }

  /** @param {Buffer} chunk */
  push(chunk) {
    let pos = 0;
    let done = 0;
    const end = chunk.length;
    while (pos < end) {
      if (this.state === 0) {
        // Need 2 bytes, then the full header.
        let need = 2;
        if (this.headerHave === 0 && end - pos >= 14) {
          // Fast path: the whole header is in this chunk, read in place.
          const b1 = chunk[pos + 1] ?? 0;
          const len7 = b1 & 0x7f;
          const maskLen = b1 & 0x80 ? 4 : 0;
          let length = len7;
          let h = 2;
          if (len7 === 126) {
            length = chunk.readUInt16BE(pos + 2);
            h = 4;
          } else if (len7 === 127) {
            length = chunk.readUInt32BE(pos + 6) + chunk.readUInt32BE(pos + 2) * 2 ** 32;
            h = 10;
          }
          this.beginFrame(chunk[pos] ?? 0, length);
          pos += h + maskLen;
        } else {
          // Slow path: gather the header into `this.header`.
          const h = this.header;
          while (this.headerHave < 2 && pos < end) h[this.headerHave++] = chunk[pos++] ?? 0;
          if (this.headerHave < 2) break;
          const len7 = (h[1] ?? 0) & 0x7f;
          need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + ((h[1] ?? 0) & 0x80 ? 4 : 0);
          while (this.headerHave < need && pos < end) h[this.headerHave++] = chunk[pos++] ?? 0;
          if (this.headerHave < need) break;
          let length = len7;
          if (len7 === 126) length = h.readUInt16BE(2);
          else if (len7 === 127) length = h.readUInt32BE(6) + h.readUInt32BE(2) * 2 ** 32;
          this.headerHave = 0;
          this.beginFrame(h[0] ?? 0, length);
        }
        if (this.state === 0 && this.endFrame()) done++;
        continue;
      }
      const take = Math.min(this.remaining, end - pos);
      this.payload(chunk, pos, take);
      pos += take;
      this.remaining -= take;
      if (this.remaining === 0) {
        this.state = 0;
        if (this.endFrame()) done++;
      }
    }
    if (done > 0) this.onEchoes(done);
  }

  /**
   * @param {number} b0
   * @param {number} length
   */
  beginFrame(b0, length) {
    this.fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    // Control frames may arrive between the fragments of a message (RFC 6455 §5.4).
    this.opcodeOfFrame = opcode;
    if (opcode !== 0 && opcode < 8) {
      if (opcode !== this.opcode) throw new Error(`echo has opcode ${opcode}, sent ${this.opcode}`);
      this.compressed = (b0 & 0x40) !== 0;
      this.offset = 0;
    }
    this.remaining = length;
    this.state = length > 0 ? 1 : 0;
  }

  /**
   * @param {Buffer} chunk
   * @param {number} at
   * @param {number} n
   */
  payload(chunk, at, n) {
    if (this.opcodeOfFrame >= 8) {
      this.control.push(Buffer.from(chunk.subarray(at, at + n)));
      return;
    }
    if (this.compressed) {
      this.parts.push(Buffer.from(chunk.subarray(at, at + n)));
      return;
    }
    const e = this.expected;
    if (this.offset + n > e.length || chunk.compare(e, this.offset, this.offset + n, at, at + n) !== 0) {
      throw new Error(`echoed payload differs from what was sent (at byte ${this.offset})`);
    }
    this.offset += n;
  }

  /** @returns {boolean} whether a whole data message ended */
  endFrame() {
    const opcode = this.opcodeOfFrame;
    if (opcode >= 8) {
      const body = Buffer.concat(this.control);
      this.control = [];
      if (opcode === 9) this.reply(maskedFrame(10, body));
      else if (opcode === 8) this.closed = true;
      return false;
    }
    if (!this.fin) return false;
    if (this.compressed) {
      this.inflater ??= new SyncInflater(this.expected.length);
      this.parts.push(DEFLATE_TAIL);
      const input = this.parts.length === 1
        ? /** @type {Buffer} */ (this.parts[0])
        : Buffer.concat(this.parts);
      this.parts = [];
      const out = this.inflater.inflate(input);
      if (!out.equals(this.expected)) throw new Error('inflated echo differs from what was sent');
      return true;
    }
    if (this.offset !== this.expected.length) {
      throw new Error(`echo has ${this.offset} bytes, sent ${this.expected.length}`);
    }
    return true;
  }
}

/**
 * Opens connections, at most `parallel` handshakes at a time.
 * @param {number} count
 * @param {number} parallel
 * @param {() => Promise<T>} open
 * @returns {Promise<T[]>}
 * @template T
 */
export async function openMany(count, parallel, open) {
  /** @type {T[]} */
  const out = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      out.push(await open());
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  return out;
}
