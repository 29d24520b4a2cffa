/**
 * permessage-deflate (RFC 7692) for the suite, over node:zlib directly (never `@sansws/zlib`, so the oracle
 * stays independent of the codec it may be testing).
 *
 * Context takeover without a stateful stream: compressing a message with the previous messages' last window
 * of plaintext as a preset dictionary is exactly what a compressor that kept its context may reference, and
 * inflating with the peer's previous plaintext as the dictionary accepts exactly the streams a peer that kept
 * its context may produce. When the peer agreed to reset its context (`*_no_context_takeover`), we inflate
 * its messages with no dictionary, so a peer that breaks that promise is caught ("invalid distance too far
 * back"). Everything stays synchronous.
 */

import zlib from 'node:zlib';
import { concat } from './bytes.ts';

const TRAILER = Uint8Array.of(0x00, 0x00, 0xff, 0xff);
const Z_SYNC_FLUSH = zlib.constants.Z_SYNC_FLUSH;

/** One permessage-deflate offer, in the terms of Autobahn's `PerMessageDeflateOffer`. */
export interface DeflateOffer {
  /** Offer `client_no_context_takeover` (we would accept being asked to reset). Default true. */
  readonly acceptNoContextTakeover?: boolean;
  /** Offer `client_max_window_bits` without a value (we would honour a smaller window). Default true. */
  readonly acceptMaxWindowBits?: boolean;
  /** Ask the server to reset its context after each message (`server_no_context_takeover`). */
  readonly requestNoContextTakeover?: boolean;
  /** Ask the server for at most this window (`server_max_window_bits=N`), 8..15; 0 = no request. */
  readonly requestMaxWindowBits?: number;
}

/** The parameters both sides agreed on. */
export interface DeflateAgreement {
  readonly serverNoContextTakeover: boolean;
  readonly clientNoContextTakeover: boolean;
  /** Window the server compresses with (15 when not limited). */
  readonly serverMaxWindowBits: number;
  /** Window the client compresses with (15 when not limited). */
  readonly clientMaxWindowBits: number;
  /** The extension as it appeared in the response. */
  readonly header: string;
}

/** The `Sec-WebSocket-Extensions` value of a list of offers. */
export function offerHeader(offers: readonly DeflateOffer[]): string {
  return offers.map((o) => {
    const parts = ['permessage-deflate'];
    if (o.acceptNoContextTakeover ?? true) parts.push('client_no_context_takeover');
    if (o.acceptMaxWindowBits ?? true) parts.push('client_max_window_bits');
    if (o.requestMaxWindowBits) parts.push(`server_max_window_bits=${o.requestMaxWindowBits}`);
    if (o.requestNoContextTakeover) parts.push('server_no_context_takeover');
    return parts.join('; ');
  }).join(', ');
}

/** One extension element of a header: its name and parameters (values unquoted; `true` when absent). */
export interface ExtensionElement {
  readonly name: string;
  readonly params: ReadonlyArray<readonly [string, string | true]>;
}

/** Parses `Sec-WebSocket-Extensions` values (RFC 6455 §9.1), or returns an error string. */
export function parseExtensions(values: readonly string[]): ExtensionElement[] | string {
  const out: ExtensionElement[] = [];
  for (const value of values) {
    for (const element of value.split(',')) {
      if (element.trim() === '') continue;
      const [name, ...rest] = element.split(';').map((s) => s.trim());
      if (!name || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) return `bad extension element '${element}'`;
      const params: Array<[string, string | true]> = [];
      for (const p of rest) {
        const eq = p.indexOf('=');
        if (eq < 0) {
          params.push([p.toLowerCase(), true]);
          continue;
        }
        let v = p.slice(eq + 1).trim();
        if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1);
        params.push([p.slice(0, eq).trim().toLowerCase(), v]);
      }
      out.push({ name: name.toLowerCase(), params });
    }
  }
  return out;
}

function windowBits(value: string | true): number | undefined {
  if (value === true || !/^(8|9|1[0-5])$/.test(value)) return undefined;
  return Number(value);
}

/**
 * Checks a server's answer to our offers (RFC 7692 §7.1) and returns what was agreed, null when the server
 * declined, or an error string when the response breaks the RFC.
 */
export function acceptResponse(
  values: readonly string[],
  offers: readonly DeflateOffer[],
): DeflateAgreement | null | string {
  const parsed = parseExtensions(values);
  if (typeof parsed === 'string') return parsed;
  if (parsed.length === 0) return null;
  if (parsed.length > 1) return `server accepted ${parsed.length} extensions: ${values.join(', ')}`;
  const ext = parsed[0]!;
  if (ext.name !== 'permessage-deflate') return `server accepted an extension we did not offer: ${ext.name}`;
  const seen = new Set<string>();
  let serverNoContextTakeover = false;
  let clientNoContextTakeover = false;
  let serverMaxWindowBits = 15;
  let clientMaxWindowBits = 15;
  for (const [key, value] of ext.params) {
    if (seen.has(key)) return `parameter ${key} repeated (RFC 7692 §7.1)`;
    seen.add(key);
    if (key === 'server_no_context_takeover' || key === 'client_no_context_takeover') {
      if (value !== true) return `${key} must have no value`;
      if (key === 'server_no_context_takeover') serverNoContextTakeover = true;
      else clientNoContextTakeover = true;
    } else if (key === 'server_max_window_bits' || key === 'client_max_window_bits') {
      const bits = windowBits(value);
      if (bits === undefined) return `${key} must be 8..15 in a response, got ${String(value)}`;
      if (key === 'server_max_window_bits') serverMaxWindowBits = bits;
      else {
        // RFC 7692 §7.1.2.2: only when the offer had client_max_window_bits.
        if (!offers.some((o) => o.acceptMaxWindowBits ?? true)) return 'client_max_window_bits not offered';
        clientMaxWindowBits = bits;
      }
    } else {
      return `unknown permessage-deflate parameter ${key}`;
    }
  }
  // The response must answer one of the offers: a requested server_no_context_takeover must be kept and a
  // requested server window must not be exceeded (§7.1.1.1, §7.1.2.1).
  const fits = offers.some((o) =>
    (!o.requestNoContextTakeover || serverNoContextTakeover) &&
    (!o.requestMaxWindowBits || serverMaxWindowBits <= o.requestMaxWindowBits)
  );
  if (!fits) return `response '${values.join(', ')}' answers none of our offers`;
  return {
    serverNoContextTakeover,
    clientNoContextTakeover,
    serverMaxWindowBits,
    clientMaxWindowBits,
    header: values.join(', '),
  };
}

/** A client's permessage-deflate offer as the server sees it. */
export interface ParsedOffer {
  readonly serverNoContextTakeover: boolean;
  readonly clientNoContextTakeover: boolean;
  /** Requested server window, or undefined. */
  readonly serverMaxWindowBits: number | undefined;
  /** `client_max_window_bits` present (true, or its value). */
  readonly clientMaxWindowBits: boolean | number;
}

/** The valid permessage-deflate offers in a request, in order (invalid ones are skipped, RFC 7692 §5). */
export function parseOffers(values: readonly string[]): ParsedOffer[] {
  const parsed = parseExtensions(values);
  if (typeof parsed === 'string') return [];
  const out: ParsedOffer[] = [];
  for (const ext of parsed) {
    if (ext.name !== 'permessage-deflate') continue;
    const seen = new Set<string>();
    let ok = true;
    let serverNoContextTakeover = false;
    let clientNoContextTakeover = false;
    let serverMaxWindowBits: number | undefined;
    let clientMaxWindowBits: boolean | number = false;
    for (const [key, value] of ext.params) {
      if (seen.has(key)) ok = false;
      seen.add(key);
      if (key === 'server_no_context_takeover' && value === true) serverNoContextTakeover = true;
      else if (key === 'client_no_context_takeover' && value === true) clientNoContextTakeover = true;
      else if (key === 'server_max_window_bits' && windowBits(value) !== undefined) {
        serverMaxWindowBits = windowBits(value);
      } else if (key === 'client_max_window_bits') {
        if (value === true) clientMaxWindowBits = true;
        else if (windowBits(value) !== undefined) clientMaxWindowBits = windowBits(value)!;
        else ok = false;
      } else ok = false;
    }
    if (ok) {
      out.push({
        serverNoContextTakeover,
        clientNoContextTakeover,
        serverMaxWindowBits,
        clientMaxWindowBits,
      });
    }
  }
  return out;
}

/** How a server answers offers, as Autobahn's 13.x accept functions: what to ask of the client. */
export interface AcceptPolicy {
  /** Ask the client to reset its context (`client_no_context_takeover`). */
  readonly requestNoContextTakeover: boolean;
  /** Ask the client for this window (`client_max_window_bits=N`), 0 = no request. */
  readonly requestMaxWindowBits: number;
}

/**
 * Accepts the first offer under the first policy that can be met (a window request needs an offer with
 * `client_max_window_bits`), honouring what the client asked of the server. Null when none can be met.
 */
export function acceptOffer(
  offers: readonly ParsedOffer[],
  policies: readonly AcceptPolicy[],
): DeflateAgreement | null {
  for (const policy of policies) {
    for (const offer of offers) {
      if (policy.requestMaxWindowBits && offer.clientMaxWindowBits === false) continue;
      const parts = ['permessage-deflate'];
      if (offer.serverNoContextTakeover) parts.push('server_no_context_takeover');
      if (offer.serverMaxWindowBits !== undefined) {
        parts.push(`server_max_window_bits=${offer.serverMaxWindowBits}`);
      }
      // RFC 7692 §7.1.1.2: the server may ask for client_no_context_takeover even when not offered.
      if (policy.requestNoContextTakeover) parts.push('client_no_context_takeover');
      let clientBits = typeof offer.clientMaxWindowBits === 'number' ? offer.clientMaxWindowBits : 15;
      if (policy.requestMaxWindowBits) {
        clientBits = Math.min(clientBits, policy.requestMaxWindowBits);
        parts.push(`client_max_window_bits=${clientBits}`);
      } else if (typeof offer.clientMaxWindowBits === 'number') {
        parts.push(`client_max_window_bits=${clientBits}`);
      }
      return {
        serverNoContextTakeover: offer.serverNoContextTakeover,
        clientNoContextTakeover: policy.requestNoContextTakeover,
        serverMaxWindowBits: offer.serverMaxWindowBits ?? 15,
        clientMaxWindowBits: clientBits,
        header: parts.join('; '),
      };
    }
  }
  return null;
}

/** Keeps the last `size` bytes of a stream of plaintext. */
class History {
  #data = new Uint8Array(0);
  constructor(readonly size: number) {}
  get data(): Uint8Array {
    return this.#data;
  }
  append(chunk: Uint8Array): void {
    if (chunk.length >= this.size) this.#data = chunk.slice(chunk.length - this.size);
    else {
      const keep = Math.min(this.#data.length, this.size - chunk.length);
      this.#data = concat([this.#data.subarray(this.#data.length - keep), chunk]).slice();
    }
  }
}

/** Compresses and decompresses messages for one side of an agreement. */
export class MessageCodec {
  readonly #sendBits: number;
  readonly #sendReset: boolean;
  readonly #receiveReset: boolean;
  readonly #sent: History;
  readonly #received = new History(32768);
  readonly #maxMessage: number;

  /** `role` is our role: the client compresses with the client's parameters. */
  constructor(agreement: DeflateAgreement, role: 'client' | 'server', maxMessage: number) {
    const mine = role === 'client' ? 'client' : 'server';
    this.#sendBits = mine === 'client' ? agreement.clientMaxWindowBits : agreement.serverMaxWindowBits;
    this.#sendReset = mine === 'client'
      ? agreement.clientNoContextTakeover
      : agreement.serverNoContextTakeover;
    this.#receiveReset = mine === 'client'
      ? agreement.serverNoContextTakeover
      : agreement.clientNoContextTakeover;
    // zlib's smallest raw window is 9; a 9-bit deflater never reaches back more than 250 bytes.
    this.#sent = new History(1 << Math.max(9, this.#sendBits));
    this.#maxMessage = maxMessage;
  }

  /** The compressed payload of a message, without the 00 00 ff ff tail (RFC 7692 §7.2.1). */
  compress(data: Uint8Array): Uint8Array {
    const options: zlib.ZlibOptions = {
      windowBits: Math.max(9, this.#sendBits),
      finishFlush: Z_SYNC_FLUSH,
      level: 6,
      memLevel: 8,
    };
    if (!this.#sendReset && this.#sent.data.length > 0) options.dictionary = this.#sent.data;
    const out = new Uint8Array(zlib.deflateRawSync(data, options));
    if (!this.#sendReset) this.#sent.append(data);
    const n = out.length;
    if (n >= 4 && out[n - 4] === 0 && out[n - 3] === 0 && out[n - 2] === 0xff && out[n - 1] === 0xff) {
      return out.subarray(0, n - 4);
    }
    return out;
  }

  /** The plaintext of a compressed message, or an error string. */
  decompress(data: Uint8Array): Uint8Array | string {
    const options: zlib.ZlibOptions = {
      windowBits: 15,
      finishFlush: Z_SYNC_FLUSH,
      maxOutputLength: this.#maxMessage,
    };
    if (!this.#receiveReset && this.#received.data.length > 0) options.dictionary = this.#received.data;
    let out: Uint8Array;
    try {
      out = new Uint8Array(zlib.inflateRawSync(concat([data, TRAILER]), options));
    } catch (error) {
      return `invalid compressed message: ${(error as Error).message}`;
    }
    if (!this.#receiveReset) this.#received.append(out);
    return out;
  }
}
