/**
 * permessage-deflate (RFC 7692), sans I/O: the negotiation on both sides and the per-message transform.
 *
 * Theory of operation.
 *
 * - Negotiation is pure header work. A server calls {@link negotiateDeflate} with the request's
 *   `Sec-WebSocket-Extensions` values and gets back the response element and the agreed
 *   {@link DeflateParams}; a client sends {@link deflateOfferHeader} and checks the response with
 *   {@link acceptDeflateResponse}.
 * - The core holds no compression code. An adapter injects a {@link DeflateCodec} (`@sansws/zlib` wraps the
 *   runtime's own zlib); {@link PerMessageDeflate} drives it: one raw-DEFLATE deflater for what we send and
 *   one inflater for what we receive, each created on first use, so a connection that never sends a
 *   compressed message holds no deflater (the deflater is the big one: 110–250 KiB with zlib, against
 *   30–50 KiB for an inflater).
 * - Sending (RFC 7692 §7.2.1): compress with a sync flush, drop the final `00 00 ff ff`, and reset the
 *   deflater after each message when our side agreed to no context takeover. Receiving (§7.2.2): append
 *   `00 00 ff ff`, inflate, and reset after each message when the peer agreed to no context takeover.
 * - Decompression bombs. The message size limit counts *decompressed* bytes, and it is enforced while
 *   inflating, never after: the inflater is given the bytes still allowed for the message and must stop as
 *   soon as its output would exceed them (see {@link Inflater.inflate}). DEFLATE expands at most 1032:1
 *   (a 258-byte match coded in 2 bits), so checking only after each input piece would let a 64 KiB frame
 *   allocate 64 MiB first; stopping on the output side bounds memory by the limit plus one output chunk of
 *   the codec (16 KiB with `@sansws/zlib`). This class also counts what it hands on and never passes more
 *   than the budget to `onData`, whatever the codec does.
 * - 256-byte windows. zlib cannot compress with an 8-bit window: asked for 8 it uses 9 (raw deflate
 *   rejects 8 outright since zlib 1.2.9). That is still safe for a peer that agreed to 8, because zlib never
 *   emits a distance beyond `window size − MIN_LOOKAHEAD` = 512 − 262 = 250 bytes, which fits a 256-byte
 *   window; the zlib codec's tests check it with a strict 256-byte-window decoder. A codec that cannot give
 *   that guarantee returns `null` from {@link DeflateCodec.createDeflater}, and we then send every message
 *   uncompressed, which RFC 7692 always allows (compression is chosen per message, §6).
 */

import { HandshakeError, usageError } from './errors.ts';
import { type ExtensionOffer, parseExtensions } from './extensions.ts';
import { concat } from './http.ts';

// ---------------------------------------------------------------------------------------------------------
// The codec interface (implemented outside the core, e.g. by @sansws/zlib)

/** Settings of a deflater. */
export interface DeflaterOptions {
  /**
   * The window the *peer's* inflater has, 8..15: the deflater must never emit a back-reference further
   * than `2 ** windowBits` bytes.
   */
  readonly windowBits: number;
  /** Compression level, 0..9 (zlib semantics). */
  readonly level: number;
  /** Memory for the match finder, 1..9 (zlib semantics). */
  readonly memLevel: number;
}

/** A raw-DEFLATE (RFC 1951) compressor whose state persists between calls. */
export interface Deflater {
  /**
   * Compresses `data`, then flushes with a sync flush (zlib's `Z_SYNC_FLUSH`: an empty stored block, so
   * the output ends with `00 00 ff ff` and everything so far can be inflated), and returns the output.
   * `data` is only read during the call.
   */
  deflate(data: Uint8Array): Uint8Array;
  /** Starts a fresh stream with an empty window (zlib's `deflateReset`). */
  reset(): void;
  /** Frees the native state; the deflater is not used again. */
  close(): void;
}

/**
 * What {@link Inflater.inflate} did: `'ok'` consumed all input; `'end'` reached the end of the DEFLATE
 * stream (a block with BFINAL set) and ignored the rest of the input, so the inflater needs `reset()`;
 * `'too-big'` stopped because the output would exceed `maxOutput`; `'invalid'` met malformed data. After
 * `'too-big'` and `'invalid'` the inflater is unusable.
 */
export type InflateStatus = 'ok' | 'end' | 'too-big' | 'invalid';

/** Settings of an inflater. */
export interface InflaterOptions {
  /** The window the peer agreed to compress with, 8..15; the inflater must accept any such stream. */
  readonly windowBits: number;
}

/** A raw-DEFLATE (RFC 1951) decompressor whose window persists between calls. */
export interface Inflater {
  /**
   * Inflates `input` (a piece of one stream) and passes all the output it yields to `onData`, in order,
   * as chunks the receiver may keep. `input` is only read during the call.
   *
   * Bounded: if the output would exceed `maxOutput` bytes, the inflater must stop and return `'too-big'`
   * without having allocated much more than `maxOutput` bytes of output (the codec documents its slack);
   * it then need not have passed anything to `onData`.
   */
  inflate(input: Uint8Array, maxOutput: number, onData: (chunk: Uint8Array) => void): InflateStatus;
  /** Starts a fresh stream with an empty window (zlib's `inflateReset`). */
  reset(): void;
  /** Frees the native state; the inflater is not used again. */
  close(): void;
}

/** A DEFLATE implementation, injected by the adapter (synchronous, so that the core stays sans-I/O). */
export interface DeflateCodec {
  /**
   * Creates a deflater, or returns `null` when this codec cannot honour `windowBits` (then messages are
   * sent uncompressed).
   */
  createDeflater(options: DeflaterOptions): Deflater | null;
  /** Creates an inflater. */
  createInflater(options: InflaterOptions): Inflater;
}

// ---------------------------------------------------------------------------------------------------------
// Options and agreed parameters

/** The agreed permessage-deflate parameters of a connection (RFC 7692 §7.1), with defaults filled in. */
export interface DeflateParams {
  /** The server resets its compression context after each message (§7.1.1.1). */
  readonly serverNoContextTakeover: boolean;
  /** The client resets its compression context after each message (§7.1.1.2). */
  readonly clientNoContextTakeover: boolean;
  /** The server compresses with a window of at most `2 ** serverMaxWindowBits` bytes, 8..15 (§7.1.2.1). */
  readonly serverMaxWindowBits: number;
  /** The client compresses with a window of at most `2 ** clientMaxWindowBits` bytes, 8..15 (§7.1.2.2). */
  readonly clientMaxWindowBits: number;
}

/**
 * permessage-deflate settings. The negotiated ones mean "request" on a client and "impose" (or "cap") on a
 * server, as in RFC 7692 §7.1. Every field is optional; the defaults favour interoperability and a modest
 * memory footprint.
 */
export interface DeflateOptions {
  /**
   * Client: ask the server to reset its context after each message. Server: always do so (RFC 7692
   * §7.1.1.1 lets the server declare it unasked). Saves nothing on the side that asks; costs ratio.
   * Default `false`.
   */
  readonly serverNoContextTakeover?: boolean;
  /**
   * Client: promise to reset our context after each message. Server: require the client to (RFC 7692
   * §7.1.1.2). Default `false`.
   */
  readonly clientNoContextTakeover?: boolean;
  /**
   * Client: ask the server to compress with at most this window, 8..15 (default: no request, i.e. 15).
   * Server: the largest window we compress with, 8..15; answered even when the client did not ask (RFC 7692
   * §7.1.2.1). Server default **12**: the deflater is most of the memory a connection costs (measured per
   * deflater, Node 20: 228 KiB at 15, 116 KiB at 12; Bun 1.4 and Deno 2.9: 235–252 KiB at 15, 178–196 KiB
   * at 12), for a ratio within about a percentage point on JSON.
   */
  readonly serverMaxWindowBits?: number;
  /**
   * Client: the largest window we compress with, 8..15, announced in the offer; `false` leaves the
   * parameter out, telling the server that we cannot honour a smaller window. Default: offer the parameter
   * without a value (the server may pick any window; RFC 7692 §7.1.2.2). Server: ask clients that support
   * the parameter to compress with at most this window (clients that don't may use 15); `false` is the
   * same as the default, no request. It only trims our inflater's window (32 KiB at 15), hence no default.
   */
  readonly clientMaxWindowBits?: number | false;
  /** zlib compression level for what we send, 0..9. Default 6 (zlib's default). */
  readonly level?: number;
  /** zlib memLevel for what we send, 1..9. Default 8 (zlib's default; lower saves little with zlib ≥ 1.3). */
  readonly memLevel?: number;
  /**
   * Messages shorter than this many bytes are sent uncompressed (a streamed message is judged by its first
   * fragment only when that fragment is also the last). Default: 32 bytes when our side keeps its context,
   * since the shared history brings even 32-byte JSON messages down to about a third; 128 bytes when it
   * doesn't, since without history deflate saves nothing below about 64 bytes (a block header and the
   * flush cost 5–6 bytes) and about a quarter at 128.
   */
  readonly threshold?: number;
}

/** Server-side settings: {@link DeflateOptions} plus the per-request policy. */
export interface ServerDeflateOptions<Request = unknown> extends DeflateOptions {
  /**
   * Whether to accept permessage-deflate at all, or a function deciding per request (e.g. by path, or to
   * keep compression off where responses mix secrets with attacker-chosen text, cf. CRIME/BREACH).
   * Default `true`.
   */
  readonly enabled?: boolean | ((request: Request) => boolean);
}

const EXTENSION_NAME = 'permessage-deflate';
const TRAILER = new Uint8Array([0x00, 0x00, 0xff, 0xff]);
const DEFAULT_WINDOW_BITS = 15;
const DEFAULT_SERVER_WINDOW_BITS = 12;
const DEFAULT_LEVEL = 6;
const DEFAULT_MEM_LEVEL = 8;
const DEFAULT_THRESHOLD_TAKEOVER = 32;
const DEFAULT_THRESHOLD_NO_TAKEOVER = 128;
/** Below this, appending the trailer by copying is cheaper than a second codec call. */
const COPY_TRAILER_BELOW = 16 * 1024;

/**
 * The option or parameter names with their bounds, checked by {@link checkOptions}. The window bits come
 * first: the agreed {@link DeflateParams} are checked with those two only.
 */
const BOUNDS: readonly (readonly [keyof DeflateOptions, number, number])[] = [
  ['serverMaxWindowBits', 8, 15],
  ['clientMaxWindowBits', 8, 15],
  ['level', 0, 9],
  ['memLevel', 1, 9],
  ['threshold', 0, Number.MAX_SAFE_INTEGER],
];

/**
 * Throws UsageError('INVALID_ARGUMENT') unless every numeric option of `options` is absent or an integer
 * within its bounds (`clientMaxWindowBits` may also be `false`). `what` names the object in the message
 * (`params.` for the agreed parameters, of which only the window bits are checked).
 */
function checkOptions(options: DeflateOptions | DeflateParams, what = ''): void {
  for (const [name, min, max] of what === '' ? BOUNDS : BOUNDS.slice(0, 2)) {
    const value = (options as Record<string, unknown>)[name];
    // Number.isInteger is false for anything that is not a number.
    if (
      value !== undefined && !(name === 'clientMaxWindowBits' && value === false) &&
      !(Number.isInteger(value) && (value as number) >= min && (value as number) <= max)
    ) {
      throw usageError(`${EXTENSION_NAME}: ${what}${name} must be an integer in ${min}..${max}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Reading and writing parameters

/**
 * The four parameters of RFC 7692 §7.1, by their names in {@link DeflateParams}, in the order they are
 * written. On the wire each is spelled in snake case ({@link wireName}).
 */
const PARAMS = [
  'serverNoContextTakeover',
  'clientNoContextTakeover',
  'serverMaxWindowBits',
  'clientMaxWindowBits',
] as const;

/** A parameter's name on the wire: `serverMaxWindowBits` → `server_max_window_bits`. */
function wireName(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** The permessage-deflate parameters of one offer or response, as sent. */
interface RawParams {
  serverNoContextTakeover?: true;
  clientNoContextTakeover?: true;
  serverMaxWindowBits?: number;
  /** `true`: given without a value (only valid in an offer). */
  clientMaxWindowBits?: number | true;
}

// RFC 7692 §7.1.2.1/§7.1.2.2: "a decimal integer value without leading zeroes between 8 to 15, inclusive".
const WINDOW_BITS = /^(?:8|9|1[0-5])$/;

/** Reads the parameters of one element; a string says why they are unacceptable (RFC 7692 §5). */
function readParams(offer: ExtensionOffer, inOffer: boolean): RawParams | string {
  const raw: Record<string, number | true> = {};
  for (const [wire, value] of offer.params) {
    const name = PARAMS.find((param) => wireName(param) === wire);
    // RFC 7692 §5: a parameter not defined for this extension, or one given twice, makes the element
    // unacceptable.
    if (name === undefined || name in raw) {
      return `${name === undefined ? 'unknown' : 'duplicate'} parameter ${wire}`;
    }
    if (name.endsWith('Takeover')) {
      // RFC 7692 §7.1.1.1/§7.1.1.2: these parameters have no value.
      if (value !== true) return `${wire} must not have a value`;
      raw[name] = true;
    } else if (value === true) {
      // RFC 7692 §7.1.2.2: client_max_window_bits may be valueless in an offer ("I support it"), but a
      // response must give a value; server_max_window_bits always needs one.
      if (name === 'serverMaxWindowBits' || !inOffer) return `${wire} needs a value`;
      raw[name] = true;
    } else {
      if (!WINDOW_BITS.test(value)) return `invalid ${wire}`;
      raw[name] = Number(value);
    }
  }
  return raw;
}

/**
 * The permessage-deflate element with `params`: a parameter is left out when `undefined` or `false`,
 * written without a value when `true`. Every value here is a checked integer, so no escaping is needed.
 */
function toHeader(params: { [P in typeof PARAMS[number]]?: boolean | number | undefined }): string {
  let header = EXTENSION_NAME;
  for (const name of PARAMS) {
    const value = params[name];
    if (value === true) header += `; ${wireName(name)}`;
    else if (typeof value === 'number') header += `; ${wireName(name)}=${value}`;
  }
  return header;
}

// ---------------------------------------------------------------------------------------------------------
// Server side

/**
 * Server side of the negotiation (RFC 7692 §5, §7.1): accepts the first acceptable permessage-deflate
 * offer in the request's `Sec-WebSocket-Extensions` values and returns the element to send back in the
 * response's `Sec-WebSocket-Extensions` and the agreed parameters, or `null` to decline (then send no
 * permessage-deflate element; never an empty header).
 *
 * An offer is unacceptable, and skipped for the next one, when it has an unknown or duplicated parameter or
 * a value out of range (RFC 7692 §5). The answer states exactly what was agreed. Other extensions are
 * ignored.
 *
 * @param values The request's `Sec-WebSocket-Extensions` field values, in order.
 * @param options Server settings; `enabled` may decline per request.
 * @param request Passed to `options.enabled` when that is a function.
 * @throws {HandshakeError} `INVALID_EXTENSIONS` (status 400) when the header is syntactically malformed.
 * @throws {UsageError} `INVALID_ARGUMENT` when `options` are out of range.
 */
export function negotiateDeflate<Request = unknown>(
  values: readonly string[],
  options: ServerDeflateOptions<Request> = {},
  request?: Request,
): { header: string; params: DeflateParams } | null {
  checkOptions(options);
  const enabled = options.enabled ?? true;
  if (enabled === false || (typeof enabled === 'function' && !enabled(request as Request))) return null;
  const offers = parseExtensions(values);
  if (offers === null) {
    throw new HandshakeError('INVALID_EXTENSIONS', 400, 'malformed Sec-WebSocket-Extensions header');
  }
  for (const offer of offers) {
    if (offer.name !== EXTENSION_NAME) continue;
    const raw = readParams(offer, true);
    if (typeof raw === 'string') continue;
    return acceptOffer(raw, options);
  }
  return null;
}

function acceptOffer(offer: RawParams, options: DeflateOptions): { header: string; params: DeflateParams } {
  // RFC 7692 §7.1.1.1: a server accepting an offer with server_no_context_takeover MUST include it; it MAY
  // include it unasked.
  const serverNoContextTakeover = offer.serverNoContextTakeover === true ||
    options.serverNoContextTakeover === true;
  // RFC 7692 §7.1.1.2: the server MAY include client_no_context_takeover unasked. When the client offered
  // it, echoing it lets our inflater drop its context between messages, which the client allows anyway.
  const clientNoContextTakeover = offer.clientNoContextTakeover === true ||
    options.clientNoContextTakeover === true;

  // RFC 7692 §7.1.2.1: answer with the same or a smaller value than offered; MAY answer unasked.
  const serverCap = options.serverMaxWindowBits ?? DEFAULT_SERVER_WINDOW_BITS;
  let serverMaxWindowBits: number | undefined;
  if (offer.serverMaxWindowBits !== undefined) {
    serverMaxWindowBits = Math.min(offer.serverMaxWindowBits, serverCap);
  } else if (serverCap < DEFAULT_WINDOW_BITS) serverMaxWindowBits = serverCap;

  // RFC 7692 §7.1.2.2: client_max_window_bits MUST NOT be answered when the offer lacks it (the client
  // then may use a 32 KiB window). A value offered is echoed (or lowered to our cap); a valueless offer is
  // answered only when we want a limit.
  let clientMaxWindowBits: number | undefined;
  if (offer.clientMaxWindowBits !== undefined) {
    const offered = offer.clientMaxWindowBits === true ? DEFAULT_WINDOW_BITS : offer.clientMaxWindowBits;
    const cap = options.clientMaxWindowBits === false
      ? DEFAULT_WINDOW_BITS
      : options.clientMaxWindowBits ?? DEFAULT_WINDOW_BITS;
    const bits = Math.min(offered, cap);
    if (offer.clientMaxWindowBits !== true || bits < DEFAULT_WINDOW_BITS) clientMaxWindowBits = bits;
  }

  const answer = {
    serverNoContextTakeover,
    clientNoContextTakeover,
    serverMaxWindowBits,
    clientMaxWindowBits,
  };
  return { header: toHeader(answer), params: agreedParams(answer) };
}

/**
 * The parameters agreed by an answer (RFC 7692 §7.1): a no-context-takeover parameter holds when
 * present, and a window left out is the largest, 15 bits; `clientBits` replaces that default for the
 * client's window.
 */
function agreedParams(
  answer: { [P in typeof PARAMS[number]]?: boolean | number | undefined },
  clientBits = DEFAULT_WINDOW_BITS,
): DeflateParams {
  return {
    serverNoContextTakeover: answer.serverNoContextTakeover === true,
    clientNoContextTakeover: answer.clientNoContextTakeover === true,
    serverMaxWindowBits: (answer.serverMaxWindowBits as number | undefined) ?? DEFAULT_WINDOW_BITS,
    clientMaxWindowBits: (answer.clientMaxWindowBits as number | undefined) ?? clientBits,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Client side

/**
 * Client side: the `Sec-WebSocket-Extensions` value offering permessage-deflate with `options`, e.g.
 * `permessage-deflate; client_max_window_bits`.
 *
 * @throws {UsageError} `INVALID_ARGUMENT` when `options` are out of range.
 */
export function deflateOfferHeader(options: DeflateOptions = {}): string {
  checkOptions(options);
  return toHeader({
    serverNoContextTakeover: options.serverNoContextTakeover === true,
    clientNoContextTakeover: options.clientNoContextTakeover === true,
    serverMaxWindowBits: options.serverMaxWindowBits,
    // RFC 7692 §7.1.2.2: a valueless client_max_window_bits says we can compress with any window 8..15.
    clientMaxWindowBits: options.clientMaxWindowBits === false
      ? undefined
      : options.clientMaxWindowBits ?? true,
  });
}

/**
 * Client side: checks the response's `Sec-WebSocket-Extensions` values against the offer that
 * {@link deflateOfferHeader} made from the same `options`, and returns the agreed parameters, or `null`
 * when the server declined (no extension in the response).
 *
 * @param values The response's `Sec-WebSocket-Extensions` field values, in order.
 * @throws {HandshakeError} `INVALID_EXTENSIONS` when the response is malformed, names an extension we did
 * not offer or permessage-deflate twice, has an unknown, duplicated or valueless-where-a-value-is-needed
 * parameter, or a value outside what we offered (RFC 6455 §4.1 and RFC 7692 §5, §7.1: the client MUST
 * _Fail the WebSocket Connection_).
 * @throws {UsageError} `INVALID_ARGUMENT` when `options` are out of range.
 */
export function acceptDeflateResponse(
  values: readonly string[],
  options: DeflateOptions = {},
): DeflateParams | null {
  checkOptions(options);
  const fail = (why: string): never => {
    throw new HandshakeError('INVALID_EXTENSIONS', 101, `unacceptable extension response: ${why}`);
  };
  const elements = parseExtensions(values);
  if (elements === null) return fail('malformed header');
  if (elements.length === 0) return null;
  for (const element of elements) {
    // RFC 6455 §4.1: an extension the client did not offer MUST fail the connection.
    if (element.name !== EXTENSION_NAME) fail(`${element.name} was not offered`);
  }
  // We make a single offer, so the server can accept it only once.
  if (elements.length > 1) fail(`${EXTENSION_NAME} accepted more than once`);
  const raw = readParams(elements[0]!, false);
  if (typeof raw === 'string') return fail(raw);

  // RFC 7692 §7.1.1.1: a server accepting our server_no_context_takeover includes it in the response.
  if (options.serverNoContextTakeover === true && !raw.serverNoContextTakeover) {
    fail('server_no_context_takeover requested, not granted');
  }
  // RFC 7692 §7.1.2.1: a requested server_max_window_bits is answered with the same or a smaller value; an
  // unrequested one is allowed (the server only tells us its window). (`undefined <= n` is false.)
  if (
    options.serverMaxWindowBits !== undefined &&
    !((raw.serverMaxWindowBits as number) <= options.serverMaxWindowBits)
  ) {
    fail('server_max_window_bits missing or above the offer');
  }
  // RFC 7692 §7.1.2.2: client_max_window_bits in a response to an offer without it MUST fail; with a
  // value in the offer, the answer may not exceed it. (`n > undefined` is false.)
  const offeredClientBits = options.clientMaxWindowBits;
  if (
    raw.clientMaxWindowBits !== undefined &&
    (offeredClientBits === false || (raw.clientMaxWindowBits as number) > (offeredClientBits as number))
  ) {
    fail('client_max_window_bits not offered or above the offer');
  }

  return agreedParams(
    // Offering client_no_context_takeover is a promise we keep even when the server does not echo it.
    { ...raw, clientNoContextTakeover: raw.clientNoContextTakeover || options.clientNoContextTakeover },
    // A window we offered holds even when the server does not echo it.
    typeof offeredClientBits === 'number' ? offeredClientBits : DEFAULT_WINDOW_BITS,
  );
}

// ---------------------------------------------------------------------------------------------------------
// The per-message transform

/**
 * The permessage-deflate transform of one connection (RFC 7692 §6, §7.2), driven by the engine.
 *
 * Sending: for each outgoing data message, ask {@link shouldCompress}; if true, set RSV1 on its first
 * frame and pass every fragment's payload through {@link compress}. Receiving: pass the payload of every
 * frame of a message whose first frame had RSV1 set through {@link decompress}, with the decompressed bytes
 * the message may still grow by. Call {@link release} when the connection closes. Control frames are never
 * compressed (RFC 7692 §6.1).
 */
export class PerMessageDeflate {
  readonly #codec: DeflateCodec;
  readonly #deflaterOptions: DeflaterOptions;
  readonly #inflaterOptions: InflaterOptions;
  readonly #ownNoContextTakeover: boolean;
  readonly #peerNoContextTakeover: boolean;
  readonly #threshold: number;
  /** `undefined`: not created yet; `null`: the codec cannot honour the agreed window. */
  #deflater: Deflater | null | undefined;
  #inflater: Inflater | undefined;
  /** The peer's DEFLATE stream ended (BFINAL) inside the current message: ignore input until its end. */
  #streamEnded = false;
  /** A decompression failed: the connection is being failed, nothing more is inflated. */
  #failed = false;
  #released = false;

  /**
   * @param params The agreed parameters, from {@link negotiateDeflate} or {@link acceptDeflateResponse}.
   * @param role Our side of the connection.
   * @param codec The DEFLATE implementation.
   * @param options `level`, `memLevel` and `threshold` apply here; the same options as for the negotiation
   * may be passed.
   * @throws {UsageError} `INVALID_ARGUMENT` when `options` or `params` are out of range.
   */
  constructor(
    readonly params: DeflateParams,
    readonly role: 'server' | 'client',
    codec: DeflateCodec,
    options: DeflateOptions = {},
  ) {
    checkOptions(options);
    checkOptions(params, 'params.');
    const server = role === 'server';
    this.#codec = codec;
    this.#ownNoContextTakeover = server ? params.serverNoContextTakeover : params.clientNoContextTakeover;
    this.#peerNoContextTakeover = server ? params.clientNoContextTakeover : params.serverNoContextTakeover;
    this.#deflaterOptions = {
      windowBits: server ? params.serverMaxWindowBits : params.clientMaxWindowBits,
      level: options.level ?? DEFAULT_LEVEL,
      memLevel: options.memLevel ?? DEFAULT_MEM_LEVEL,
    };
    this.#inflaterOptions = { windowBits: server ? params.clientMaxWindowBits : params.serverMaxWindowBits };
    this.#threshold = options.threshold ??
      (this.#ownNoContextTakeover ? DEFAULT_THRESHOLD_NO_TAKEOVER : DEFAULT_THRESHOLD_TAKEOVER);
  }

  #checkLive(): void {
    if (this.#released) throw usageError('permessage-deflate was released', 'INVALID_STATE');
  }

  #getDeflater(): Deflater | null {
    if (this.#deflater === undefined) this.#deflater = this.#codec.createDeflater(this.#deflaterOptions);
    return this.#deflater;
  }

  /**
   * Whether to compress an outgoing message (and so set RSV1 on its first frame). `byteLength` is the
   * size of the message, or of its first fragment when `fin` is false (a streamed message, which is
   * compressed whatever its first fragment's size). False below the threshold, and always false when the
   * codec cannot compress within the agreed window.
   */
  shouldCompress(byteLength: number, fin: boolean): boolean {
    this.#checkLive();
    if (fin && byteLength < this.#threshold) return false;
    return this.#getDeflater() !== null;
  }

  /**
   * Compresses one message, or one fragment of a streamed message (`fin` false until the last). Returns
   * the frame payload. Only call after {@link shouldCompress} returned true for this message.
   *
   * @throws {UsageError} `INVALID_STATE` after {@link release}, or when the codec cannot compress.
   */
  compress(data: Uint8Array, fin: boolean): Uint8Array {
    this.#checkLive();
    const deflater = this.#getDeflater();
    if (deflater === null) {
      throw usageError('the codec cannot compress with this window', 'INVALID_STATE');
    }
    if (data.length === 0) {
      // Nothing to compress. The stream is byte-aligned after the previous sync flush, so a final piece is
      // the single octet 0x00: with the trailer re-appended, an empty stored block (RFC 7692 §7.2.3.6).
      if (!fin) return new Uint8Array(0);
      if (this.#ownNoContextTakeover) deflater.reset();
      return Uint8Array.of(0x00);
    }
    let out = deflater.deflate(data);
    if (fin) {
      // RFC 7692 §7.2.1: remove the 4 octets 00 00 ff ff that the sync flush leaves at the tail end.
      const n = out.length;
      if (n < 4 || out[n - 4] !== 0 || out[n - 3] !== 0 || out[n - 2] !== 0xff || out[n - 1] !== 0xff) {
        throw new Error('the codec did not end its output with a sync flush');
      }
      out = out.subarray(0, n - 4);
      // RFC 7692 §7.1.1.1/§7.1.1.2: with no context takeover agreed for our side, we MUST start a new
      // LZ77 window for each message.
      if (this.#ownNoContextTakeover) deflater.reset();
    }
    return out;
  }

  /**
   * Decompresses one piece of the payload of a compressed message, as it arrives (`fin` true for the
   * message's last frame), passing the output to `onData` in order.
   *
   * `budget` is how many decompressed bytes the message may still grow by; inflating stops as soon as the
   * output exceeds it, and at most `budget` bytes reach `onData`. Returns `'too-big'` then (close with 1009,
   * RFC 6455 §7.4.1), `'invalid'` for malformed compressed data (`ProtocolError` `INVALID_COMPRESSED_DATA`,
   * 1007, as ws does), else `'ok'`. After either failure, every later call returns `'invalid'`.
   *
   * @throws {UsageError} `INVALID_STATE` after {@link release}.
   */
  decompress(
    data: Uint8Array,
    fin: boolean,
    budget: number,
    onData: (chunk: Uint8Array) => void,
  ): 'ok' | 'too-big' | 'invalid' {
    this.#checkLive();
    if (this.#failed) return 'invalid';
    if (this.#streamEnded) {
      // The peer ended its DEFLATE stream with a BFINAL block (RFC 7692 §7.2.3.4); what follows in this
      // message is only the padding byte of an empty block, and the next message starts a new stream.
      if (fin) this.#endMessage();
      return 'ok';
    }
    const inflater = this.#inflater ??= this.#codec.createInflater(this.#inflaterOptions);
    let delivered = 0;
    let over = false;
    const sink = (chunk: Uint8Array): void => {
      // Defence in depth: the codec must stop at the budget, but we never pass on more than it either.
      if (over || chunk.length > budget - delivered) {
        over = true;
        return;
      }
      delivered += chunk.length;
      if (chunk.length > 0) onData(chunk);
    };

    let status: InflateStatus;
    if (!fin) {
      status = data.length === 0 ? 'ok' : inflater.inflate(data, budget, sink);
    } else if (data.length < COPY_TRAILER_BELOW) {
      // RFC 7692 §7.2.2: append 00 00 ff ff to the tail end of the payload of the message, then inflate.
      status = inflater.inflate(concat([data, TRAILER], data.length + 4), budget, sink);
    } else {
      status = inflater.inflate(data, budget, sink);
      if (status === 'ok' && !over) status = inflater.inflate(TRAILER, budget - delivered, sink);
    }
    if (over && (status === 'ok' || status === 'end')) status = 'too-big';

    switch (status) {
      case 'ok':
        if (fin) this.#endMessage();
        return 'ok';
      case 'end':
        this.#streamEnded = true;
        if (fin) this.#endMessage();
        return 'ok';
      default:
        this.#failed = true;
        this.#inflater = undefined;
        inflater.close();
        return status;
    }
  }

  #endMessage(): void {
    // RFC 7692 §7.2.2: with no context takeover agreed for the peer, each message starts a new window (the
    // peer's compressor reset too); a stream that ended with BFINAL needs a fresh inflater in any case.
    if (this.#peerNoContextTakeover || this.#streamEnded) this.#inflater?.reset();
    this.#streamEnded = false;
  }

  /** Frees the codec state. Call once the connection is closed; the instance is not usable afterwards. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#deflater?.close();
    this.#inflater?.close();
    this.#deflater = null;
    this.#inflater = undefined;
  }
}
