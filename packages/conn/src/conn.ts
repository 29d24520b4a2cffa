/**
 * `Conn`: one WebSocket connection driven over a {@link Transport}, with promises, backpressure both ways
 * and typed close errors (gorilla/websocket's `Conn`, in TypeScript).
 *
 * Theory of operation. A Conn owns a core engine (`ServerConnection` or `ClientConnection`) and a
 * transport. Every input (bytes, EOF, a timer) and every command goes to the engine, then {@link Conn}
 * "pumps": it writes the engine's output to the transport, applies its transport action and dispatches its
 * events, until both are empty (handling an event may issue commands).
 *
 * Reading. Message events land in an inbox of items. Until the application first asks for a streaming
 * reader (`nextReader`), the engine assembles each message (a view of the received chunk when the message
 * lies inside one, else one buffer of its size) and it is queued as one item. From then on the engine
 * streams (start, chunk, end items), from the first message that begins after the call: whole-message reads
 * assemble those, streaming reads hand chunks out as they come, and a message queued whole is handed to a
 * streaming reader as one chunk. When the inbox holds more than `readHighWaterMark` unread bytes the
 * transport is paused, and resumed once reads bring it down to half that. A message being assembled is
 * not in the inbox yet, so it never pauses the transport: its size is bounded by `maxMessageSize`, as that
 * of any whole-message read is, and a streamed message drains the inbox as it is read (a larger message
 * read with `readMessage` never pauses either). While the transport is paused the
 * keepalive timer is held too: the peer's pong may be stuck behind unread data, and the peer was alive
 * when we paused. Reads are served one at a time, in call order.
 *
 * Writing. Data writes go through an ordered queue: a job runs (encodes its frames with the engine and
 * hands them to the transport) only while the transport is below its write high-water mark, then its
 * promise resolves; a streamed message (`nextWriter`) holds the queue until it is closed, so frames of
 * different messages never interleave. Control frames (ping, pong, close) skip the queue: they are written
 * between two frames, never inside one, since each engine command produces whole frames.
 *
 * Failure. Promises handed out reject with the abort reason, a `ConnError` timeout (that call only), a
 * `CloseError` once the connection is closed, or a core `UsageError` for misuse. Internal promises always
 * have a handler attached: nothing here can become an unhandled rejection.
 *
 * @module
 */

import {
  type ClosedEvent,
  type Connection,
  type HttpRequest,
  type HttpResponse,
  type SendOptions,
  UsageError,
  type WebSocketEvent,
} from '@sansws/core';
import { CloseError, closeErrorCode, ConnError } from './errors.ts';
import { type Deadline, Deadlines } from './deadlines.ts';
import { CallGuard } from './guard.ts';
import type { PreparedMessage } from './prepared.ts';
import type { NetAddress, TimerHandle, Timers, Transport, TransportHandler } from './transport.ts';
import { type AbortSignalLike, concatBytes, utf8Decoder, utf8Encoder } from './web.ts';

/** The type of a data message. */
export type MessageType = 'text' | 'binary';

/**
 * A whole message, as returned by {@link Conn.readMessage}. Binary `data` is a view: its `buffer` may be larger
 * than the message and hold other bytes (the rest of a read, or an earlier message's), so use it with its
 * `byteOffset` and `length`; `data.slice().buffer` is an `ArrayBuffer` of the message alone.
 */
export type Message =
  | { readonly type: 'text'; readonly data: string }
  | { readonly type: 'binary'; readonly data: Uint8Array };

/**
 * A whole message as bytes, as returned by {@link Conn.readMessageBytes}: text stays UTF-8 (validated as it
 * arrived), binary is the payload.
 */
export interface MessageBytes {
  /** The message type. */
  readonly type: MessageType;
  /**
   * The payload; for text, its UTF-8 bytes. A view, as a binary {@link Message}'s: its `buffer` may hold
   * other bytes around it.
   */
  readonly data: Uint8Array;
}

/** Options of a single read or write call. */
export interface CallOptions {
  /** Abandons this call only (its promise rejects with the signal's reason); the connection stays usable. */
  readonly signal?: AbortSignalLike;
}

/** Options of a single write. */
export interface WriteOptions extends CallOptions {
  /** Set false to send this message uncompressed even when compression was negotiated. */
  readonly compress?: boolean;
}

/** How a connection ended, as {@link Conn.closed} and {@link Conn.close} report it. */
export interface CloseInfo {
  /** The close code received (1005: none), sent when we failed, or 1006 (no closing handshake). */
  readonly code: number;
  /** The close reason. */
  readonly reason: string;
  /** Whether the closing handshake completed. */
  readonly clean: boolean;
  /** The same outcome as the error reads and writes reject with. */
  readonly error: CloseError;
}

/** Settings of the connection layer, shared by {@link Upgrader} and {@link dial}. */
export interface ConnOptions {
  /**
   * Unread received bytes above which the transport is paused (read backpressure); reading resumes below
   * half of it. Default 1 MiB.
   */
  readonly readHighWaterMark?: number;
  /** Bytes buffered in the transport above which writes wait (write backpressure). Default 64 KiB. */
  readonly writeHighWaterMark?: number;
  /**
   * Longest wait of one read call (`readMessage`, `nextReader`, one chunk of a reader), in ms; it then
   * rejects with `ConnError('READ_TIMEOUT')` and the connection stays usable. 0 (default): no limit.
   */
  readonly readTimeout?: number;
  /**
   * Longest wait of one write call for its turn and for room in the transport, in ms; it then rejects
   * with `ConnError('WRITE_TIMEOUT')` (nothing of it was sent) and the connection stays usable. 0
   * (default): no limit.
   */
  readonly writeTimeout?: number;
  /**
   * How long `close()` waits for the closing handshake before destroying the transport, in ms. Also bounds
   * the wait for the peer's EOF after the handshake. Default 10 000.
   */
  readonly closeTimeout?: number;
  /** Send a keepalive ping after this many ms; 0 disables. Default 30 000. */
  readonly pingInterval?: number;
  /** Close (1006) when a keepalive ping is not answered within this many ms. Default: `pingInterval`. */
  readonly pongTimeout?: number;
  /** Largest message accepted, in (decompressed) bytes; bigger → close 1009. Default 16 MiB. */
  readonly maxMessageSize?: number;
}

/** Answers a ping; replaces the default (an automatic pong). */
export type PingHandler = (data: Uint8Array) => void;
/** Sees a pong; `rtt` is set when it answers a ping we sent (keepalive or {@link Conn.ping}). */
export type PongHandler = (data: Uint8Array, rtt: number | undefined) => void;
/** Sees the peer's close frame. The engine echoes it regardless (RFC 6455 §5.5.1). */
export type CloseHandler = (code: number, reason: string) => void;
/**
 * Receives each whole message and the connection it came on (see {@link Conn.setMessageHandler}): one
 * function can serve every connection. `M` is {@link Message} (text decoded) or, with `{ bytes: true }`,
 * {@link MessageBytes}. A returned promise holds the next message back until it settles; a throw or a
 * rejection ends the deliveries and fails the connection with 1011.
 */
export type MessageHandler<M = Message> = (message: M, conn: Conn) => void | PromiseLike<void>;

/** One message read as a stream of chunks (see {@link Conn.nextReader}). */
export interface MessageReader extends AsyncIterable<Uint8Array> {
  /** The message type. Text chunks are UTF-8 bytes, valid so far; a chunk may end inside a character. */
  readonly type: MessageType;
  /** The next chunk, or `null` at the end of the message. */
  read(options?: CallOptions): Promise<Uint8Array | null>;
  /** Discards the rest of the message and lets the next read start. Iteration calls it on `break`. */
  cancel(): void;
}

/** One message written as a stream of frames (see {@link Conn.nextWriter}). */
export interface MessageWriter {
  /** The message type. */
  readonly type: MessageType;
  /** Writes one frame. Text takes strings, or UTF-8 bytes (validated across chunks). */
  write(chunk: Uint8Array | string, options?: CallOptions): Promise<void>;
  /** Ends the message, with an optional last piece, and releases the write queue. */
  close(chunk?: Uint8Array | string, options?: CallOptions): Promise<void>;
}

/** Normalised settings. */
export interface ConnSettings {
  readonly readHighWaterMark: number;
  readonly writeHighWaterMark: number;
  readonly readTimeout: number;
  readonly writeTimeout: number;
  readonly closeTimeout: number;
  /** Takes back message buffers nothing uses any more (see `UpgraderOptions.releaseMessage`). */
  readonly releaseMessage: ((bytes: Uint8Array) => void) | null;
  /** A decoded text message's buffer goes to `releaseMessage` (see `UpgraderOptions.releaseDecodedText`). */
  readonly releaseDecodedText: boolean;
  /** Long strings go out in fragments (see `UpgraderOptions.fragmentLongText`). */
  readonly fragmentLongText: boolean;
  /**
   * The adapter's frame memory, both or neither: long strings are encoded into one frame of it (see
   * `UpgraderOptions.releaseFrame`).
   */
  readonly allocateFrame: ((byteLength: number) => Uint8Array) | null;
  readonly releaseFrame: ((bytes: Uint8Array) => void) | null;
}

export const DEFAULT_PING_INTERVAL = 30_000;
const DEFAULT_READ_HWM = 1024 * 1024;
const DEFAULT_WRITE_HWM = 64 * 1024;
const DEFAULT_CLOSE_TIMEOUT = 10_000;
const EMPTY = new Uint8Array(0);

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new UsageError('INVALID_ARGUMENT', `${name} must be a non-negative number, got ${String(value)}`);
  }
  return value;
}

/**
 * Validates and fills in the connection-layer settings, with the adapter's `releaseMessage`,
 * `releaseDecodedText`, `fragmentLongText`, `allocateFrame` and `releaseFrame` (see `UpgraderOptions`).
 */
export function connSettings(
  options: ConnOptions & {
    readonly releaseMessage?: ((bytes: Uint8Array) => void) | undefined;
    readonly releaseDecodedText?: boolean | undefined;
    readonly fragmentLongText?: boolean | undefined;
    readonly allocate?: ((byteLength: number) => Uint8Array) | undefined;
    readonly allocateFrame?: ((byteLength: number) => Uint8Array) | undefined;
    readonly releaseFrame?: ((bytes: Uint8Array) => void) | undefined;
  },
): ConnSettings {
  const { releaseMessage, allocateFrame, releaseFrame } = options;
  // The memory hooks, checked here: the core takes its own (`allocate`, `allocateFrame`) as they are.
  const hooks = { allocate: options.allocate, allocateFrame, releaseMessage, releaseFrame };
  for (const [name, value] of Object.entries(hooks)) {
    if (value !== undefined && typeof value !== 'function') {
      throw new UsageError('INVALID_ARGUMENT', `${name} must be a function`);
    }
  }
  const frames = allocateFrame !== undefined && releaseFrame !== undefined;
  return {
    readHighWaterMark: nonNegative('readHighWaterMark', options.readHighWaterMark, DEFAULT_READ_HWM),
    writeHighWaterMark: nonNegative('writeHighWaterMark', options.writeHighWaterMark, DEFAULT_WRITE_HWM),
    readTimeout: nonNegative('readTimeout', options.readTimeout, 0),
    writeTimeout: nonNegative('writeTimeout', options.writeTimeout, 0),
    closeTimeout: nonNegative('closeTimeout', options.closeTimeout, DEFAULT_CLOSE_TIMEOUT),
    releaseMessage: releaseMessage ?? null,
    releaseDecodedText: options.releaseDecodedText !== false,
    fragmentLongText: options.fragmentLongText === true,
    allocateFrame: frames ? allocateFrame : null,
    releaseFrame: frames ? releaseFrame : null,
  };
}

/** What starts a {@link Conn}: an engine in `connecting` or `open` state and its transport. */
export interface ConnInit {
  readonly engine: Connection;
  readonly transport: Transport;
  readonly timers: Timers;
  readonly settings: ConnSettings;
  /** Server: answers the `request` event (accept or reject). */
  readonly onRequest?: (conn: Conn, request: HttpRequest) => void;
  /** Bytes already read from the transport, fed to the engine first. */
  readonly initialData?: Uint8Array;
  /** Fails the opening handshake after this many ms. 0: no limit. */
  readonly handshakeTimeout?: number;
}

type InboxItem =
  // A whole message: the very object a read returns (no `kind`; for binary, the engine's own event).
  | { readonly kind?: undefined; readonly type: MessageType; readonly data: Uint8Array }
  | { readonly kind: 'start'; readonly type: MessageType }
  | { readonly kind: 'chunk'; readonly data: Uint8Array }
  | { readonly kind: 'end' };

// Items without a payload are shared: an inbox entry per message start and end costs no allocation.
const START_TEXT: InboxItem = { kind: 'start', type: 'text' };
const START_BINARY: InboxItem = { kind: 'start', type: 'binary' };
const END: InboxItem = { kind: 'end' };

/** The message whose start was read and whose end was not. */
interface CurrentMessage {
  readonly type: MessageType;
  /** Chunks taken from the inbox but not yet handed out (a `readMessage` that was abandoned). */
  parts: Uint8Array[];
  bytes: number;
  /** Its reader was cancelled: drop the rest. */
  discard: boolean;
  /** It arrived whole (`parts` holds all of it; no end item follows in the inbox). */
  complete: boolean;
}

/**
 * What only the opening handshake needs, made by the constructor of a Conn that is not yet open and dropped
 * once it is open or failed (see Conn's #handshakeDone): an open connection keeps one null field of it.
 */
interface Opening {
  /** The handshake promise's, made when somebody first waits for it (see Conn's #openedPromise). */
  resolve: (() => void) | undefined;
  reject: ((error: unknown) => void) | undefined;
  timer: TimerHandle | undefined;
  onRequest: ((conn: Conn, request: HttpRequest) => void) | undefined;
}

/**
 * What the end of a connection needs, made by the first `close()`, peer close, `closed` asker, failing
 * handler or transport close (see Conn's #endingOf): an idle connection keeps one null field of it.
 */
interface Ending {
  /** The close code and reason sent or received, for the CloseError of writes refused while closing. */
  closingCode: number | undefined;
  closingReason: string;
  /** What broke the transport or a handler, given as the CloseError's cause. */
  transportError: unknown;
  /** Destroys the transport if the peer does not close it after our end. */
  endGuard: TimerHandle | undefined;
  closed: Promise<CloseInfo> | null;
  resolveClosed: ((info: CloseInfo) => void) | null;
}

/**
 * The write queue, made when a write has to wait (backpressure, a write in progress, a streamed writer)
 * and dropped once it is empty again (see Conn's #processWrites): most writes never wait.
 */
interface WriteQueue {
  /** Whole messages and writers waiting for their turn. */
  readonly jobs: WriteJob[];
  /** The pieces of the streamed message being written, which go before `jobs`. */
  readonly writerJobs: WriteJob[];
  /** The writer holding the queue, or null. */
  writer: object | null;
  /** Bytes of the jobs waiting, for `bufferedAmount`. */
  bytes: number;
}

/** Pings waiting for their pong and the application's control-frame handlers: made by the first of them. */
interface Control {
  pings: PendingPing[] | null;
  ping: PingHandler | null;
  pong: PongHandler | null;
  close: CloseHandler | null;
}

/** Resolves a parked read (see Conn's #park): with its message, or the promise of the general path. */
type ParkedRead = (
  result:
    | Message
    | MessageBytes
    | Promise<Message | MessageBytes>
    | IteratorResult<Message>
    | Promise<IteratorResult<Message>>,
) => void;

interface WriteJob {
  readonly bytes: number;
  readonly run: () => void;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

interface PendingPing {
  readonly data: Uint8Array;
  readonly sentAt: number;
  readonly resolve: (rtt: number) => void;
  readonly reject: (error: unknown) => void;
}

const RESOLVED: Promise<void> = Promise.resolve();
/** The empty inbox, shared (never written: #pushItem replaces it). */
const NO_ITEMS: InboxItem[] = Object.freeze([]) as unknown as InboxItem[];

/** Package-internal access to a Conn's opening handshake. */
let openedOf: (conn: Conn) => Promise<void>;

let TransportInput: new (conn: Conn) => TransportHandler;

/** `for await` over a Conn's messages (see Conn's `[Symbol.asyncIterator]`). */
interface MessageIteration extends AsyncIterableIterator<Message> {
  next(): Promise<IteratorResult<Message>>;
}
let MessageIterator: new (conn: Conn) => MessageIteration;
/** What a parked iteration step (see Conn's #park) resolves with, for what the parked read got. */
let stepOf: (
  iteration: MessageIteration,
  message: Message | MessageBytes | Promise<Message | MessageBytes>,
) => IteratorResult<Message> | Promise<IteratorResult<Message>>;

/** Waits for the opening handshake of a Conn created with {@link ConnInit}. */
export function connOpened(conn: Conn): Promise<void> {
  return openedOf(conn);
}

let whenClosedOf: (conn: Conn, callback: (conn: Conn) => void) => void;

let onDeadline: (conn: Conn, at: number) => void;
/** One {@link Deadlines} per Timers: the connections sharing a clock share its timer. */
const deadlinesByTimers = new WeakMap<Timers, Deadlines<Conn>>();

function deadlinesOf(timers: Timers): Deadlines<Conn> {
  let deadlines = deadlinesByTimers.get(timers);
  if (deadlines === undefined) {
    deadlines = new Deadlines(timers, (conn, at) => onDeadline(conn, at));
    deadlinesByTimers.set(timers, deadlines);
  }
  return deadlines;
}

/**
 * Package-internal: calls `callback(conn)` once the connection is closed (at once if it is), after
 * `closed` resolves. One callback per connection; a shared function (an Upgrader's bookkeeping) costs an
 * idle connection one field instead of a promise chain on `closed`.
 */
export function connWhenClosed(conn: Conn, callback: (conn: Conn) => void): void {
  whenClosedOf(conn, callback);
}

/**
 * One WebSocket connection. Obtain it from an {@link Upgrader} (server) or {@link dial} (client).
 *
 * Every method may be called concurrently: writes are queued in call order, reads are served in call
 * order. Reads and writes reject with a {@link CloseError} once the connection is closed (messages that
 * arrived before the close are still read first).
 */
export class Conn implements AsyncIterable<Message> {
  readonly #engine: Connection;
  readonly #transport: Transport;
  readonly #timers: Timers;
  readonly #settings: ConnSettings;

  // Opening handshake.
  /**
   * The handshake's promise: null until somebody waits for it (a server's handshake answered at once has
   * none), the shared RESOLVED once open (an open connection keeps none), rejected once failed.
   */
  #opened: Promise<void> | null = RESOLVED;
  #opening: Opening | null = null;
  #response: HttpResponse | null = null;

  /** The connection's yes/no state, one bit each (see the flags below the class): one field, not thirteen. */
  #flags = WRITABLE;

  // Pumping and timers.
  /** This connection's next deadline, in its Timers' shared {@link Deadlines} (see #armTimer). */
  #deadline: Deadline<Conn> | null = null;

  // Closing.
  #closeError: CloseError | null = null;
  /** Made when first needed (see Ending): an idle connection holds no promise of its end. */
  #ending: Ending | null = null;
  #whenClosed: ((conn: Conn) => void) | null = null;

  // Reading.
  /** When a hold (see HOLDING) ends at the latest. */
  #holdUntil = 0;
  #inbox: InboxItem[] = NO_ITEMS;
  #inboxHead = 0;
  #inboxBytes = 0;
  #current: CurrentMessage | null = null;
  #wake: (() => void) | null = null;
  /**
   * A whole-message read waiting without a guard, parked (see #park): it resolves this with the message,
   * or with the general path's promise. It holds the read turn.
   */
  #parked: ParkedRead | null = null;
  /** The iteration whose step the parked read is (see #park), or null for a read of its own. */
  #parkedStep: MessageIteration | null = null;
  // Lists below are made on first use: most connections never queue a read, a write or a ping.
  #readWaiters: Array<() => void> | null = null;

  // Writing: null while no write waits.
  #queue: WriteQueue | null = null;
  /**
   * Messages released while the pump ran (see #handOver), handed to the transport once it has moved the
   * engine's output; null when there are none.
   */
  #releasing: Uint8Array[] | null = null;

  // Control frames: null until a ping is sent or a handler set.
  #control: Control | null = null;

  /** Receives the messages instead of reads while set (see setMessageHandler; HANDLER_* flags). */
  #messageHandler: MessageHandler<never> | null = null;

  static {
    openedOf = (conn) => conn.#openedPromise();
    onDeadline = (conn, at) => conn.#onDeadline(at);
    whenClosedOf = (conn, callback) => {
      if (conn.#closeError !== null) callback(conn);
      else conn.#whenClosed = callback;
    };
    MessageIterator = class Iteration implements MessageIteration {
      readonly #conn: Conn;
      #done = false;
      /** A step's rejection handler (ends the iteration), made when a step first takes the general path. */
      #stopFn: ((error: unknown) => IteratorResult<Message>) | null = null;
      constructor(conn: Conn) {
        this.#conn = conn;
      }
      static {
        stepOf = (iteration, message) =>
          message instanceof Promise
            ? (message as Promise<Message>).then(iterationStep, (iteration as Iteration).#stopper())
            : { value: message as Message, done: false };
      }
      next(): Promise<IteratorResult<Message>> {
        if (this.#done) return Promise.resolve(ITERATION_DONE);
        const conn = this.#conn;
        if (conn.#messageHandler !== null) return Promise.reject(handlerIsSet());
        const whole = conn.#takeWholeMessage(undefined);
        if (whole !== null) return Promise.resolve({ value: conn.#decoded(whole), done: false });
        return (conn.#park(undefined, true, this) as Promise<IteratorResult<Message>> | null) ??
          conn.readMessage().then(iterationStep, this.#stopper());
      }
      return(): Promise<IteratorResult<Message>> {
        this.#done = true;
        return Promise.resolve(ITERATION_DONE);
      }
      [Symbol.asyncIterator](): MessageIteration {
        return this;
      }
      #stopper(): (error: unknown) => IteratorResult<Message> {
        return this.#stopFn ??= (error) => {
          this.#done = true;
          if (error instanceof CloseError && error.normal) return ITERATION_DONE;
          throw error;
        };
      }
    };
    // The transport's handler: methods on a prototype, not four closures per connection.
    TransportInput = class implements TransportHandler {
      readonly #conn: Conn;
      constructor(conn: Conn) {
        this.#conn = conn;
      }
      data(chunk: Uint8Array): void {
        this.#conn.#onData(chunk);
      }
      end(): void {
        this.#conn.#onEnd();
      }
      drain(): void {
        this.#conn.#onDrain();
      }
      closed(error?: unknown): void {
        this.#conn.#onClosed(error);
      }
    };
  }

  /**
   * Drives `init.engine` over `init.transport`. Applications do not call this: use an `Upgrader` or
   * `dial`. (Adapter authors may, to run a core engine they created themselves.)
   */
  constructor(init: ConnInit) {
    this.#engine = init.engine;
    this.#transport = init.transport;
    this.#timers = init.timers;
    this.#settings = init.settings;
    // Whole messages until the application asks for a streaming reader (see WANT_STREAMING).
    this.#engine.streaming = false;
    this.#syncClock();
    if (this.#engine.state === 'open') {
      this.#set(IS_OPEN, true);
      this.#handshakeDone();
    } else {
      this.#opened = null;
      this.#opening = { resolve: undefined, reject: undefined, timer: undefined, onRequest: init.onRequest };
    }
    this.#transport.start(new TransportInput(this), {
      writeHighWaterMark: this.#settings.writeHighWaterMark,
    });
    // A transport handed over by a head reader or a proxy tunnel was paused between owners.
    this.#transport.resume();
    if (init.initialData !== undefined && init.initialData.length > 0) {
      this.#engine.receiveData(init.initialData, this.#timers.now());
    }
    this.#pump();
    // Still opening after the first pump (a request handed over with the Conn is answered in it): the
    // handshake gets its deadline.
    const opening = this.#opening;
    if (opening !== null && (init.handshakeTimeout ?? 0) > 0) {
      opening.timer = this.#timers.setTimeout(() => {
        opening.timer = undefined;
        if (this.#has(IS_OPEN) || this.#closeError !== null) return;
        this.#failOpening(new ConnError('HANDSHAKE_TIMEOUT', 'the opening handshake timed out'));
        this.terminate();
      }, init.handshakeTimeout!);
    }
  }

  /** The handshake's promise, made by the first asker while the handshake runs. */
  #openedPromise(): Promise<void> {
    if (this.#opened !== null) return this.#opened;
    const opening = this.#opening!;
    const promise = new Promise<void>((resolve, reject) => {
      opening.resolve = resolve;
      opening.reject = reject;
    });
    promise.catch(ignore);
    return this.#opened = promise;
  }

  /** The handshake failed with `error`: its promise rejects, or will be made rejected (first error kept). */
  #failOpening(error: unknown): void {
    const reject = this.#opening?.reject;
    if (reject !== undefined) reject(error);
    else if (this.#opened === null) {
      this.#opened = Promise.reject(error);
      this.#opened.catch(ignore);
    }
  }

  // ---- introspection -------------------------------------------------------------------------------

  /** `'server'` or `'client'`. */
  get role(): 'server' | 'client' {
    return this.#engine.role;
  }
  /** The engine's state: `'connecting'`, `'open'`, `'closing'` or `'closed'`. */
  get state(): 'connecting' | 'open' | 'closing' | 'closed' {
    return this.#engine.state;
  }
  /** The negotiated subprotocol, or null. */
  get subprotocol(): string | null {
    return this.#engine.subprotocol;
  }
  /** The negotiated `Sec-WebSocket-Extensions` value (e.g. permessage-deflate's parameters), or null. */
  get extensions(): string | null {
    return this.#engine.extensions;
  }
  /** Server: the handshake request. Client: the request sent. */
  get request(): HttpRequest | null {
    return (this.#engine as { request?: HttpRequest | null }).request ?? null;
  }
  /** Client: the handshake response. Server: null. */
  get response(): HttpResponse | null {
    return this.#response;
  }
  /** The peer's address, when the transport is a network socket. */
  get remoteAddress(): NetAddress | null {
    return this.#transport.remoteAddress;
  }
  /** Our address, when the transport is a network socket. */
  get localAddress(): NetAddress | null {
    return this.#transport.localAddress;
  }
  /** Bytes accepted by writes and not yet handed to the operating system (queued + transport buffer). */
  get bufferedAmount(): number {
    // Asked from inside the pump (a message handler, after a write): the frames of writes just made may still be
    // the engine's output; they go to the transport first (in order, as the pump would), so that they count.
    if (this.#has(PUMPING) && !this.#has(MOVING)) this.#moveOutput();
    return (this.#queue?.bytes ?? 0) + this.#transport.bufferedAmount;
  }
  /** The runtime's socket (e.g. a node:net `Socket`): an escape hatch, use with care. */
  get raw(): unknown {
    return this.#transport.raw;
  }
  /** Resolves (never rejects) when the connection is closed, with how it ended. */
  get closed(): Promise<CloseInfo> {
    const ending = this.#endingOf();
    if (ending.closed === null) {
      const error = this.#closeError;
      ending.closed = error !== null
        ? Promise.resolve(closeInfo(error))
        : new Promise<CloseInfo>((resolve) => (ending.resolveClosed = resolve));
    }
    return ending.closed;
  }

  // ---- reading -------------------------------------------------------------------------------------

  /**
   * Reads the next whole message. Text is decoded (its UTF-8 was validated as it arrived). Rejects with a
   * {@link CloseError} once the connection is closed and every earlier message was read. While the message
   * is held, writing its text (16 KiB or more) as text, on this or any connection, sends the bytes it arrived
   * as instead of encoding the string again (the last four such messages read, across all connections).
   */
  readMessage(options?: CallOptions): Promise<Message> {
    if (this.#messageHandler !== null) return Promise.reject(handlerIsSet());
    const whole = this.#takeWholeMessage(options);
    if (whole !== null) return Promise.resolve(this.#decoded(whole));
    return (this.#park(options, true) ?? this.#readWholeMessage(options, true, false)) as Promise<Message>;
  }

  /**
   * Reads the next whole message like {@link Conn.readMessage}, but leaves text as its UTF-8 bytes, not
   * decoded to a string: for passing text on (an echo, a relay) or parsing it from bytes. Writing the
   * bytes back as text (`writeMessage('text', bytes)`, on this or any connection) sends the same message,
   * and is not validated a second time: text bytes returned here are trusted as they are, so changing
   * them first is the caller's responsibility (invalid UTF-8 would make the peer close with 1007).
   */
  readMessageBytes(options?: CallOptions): Promise<MessageBytes> {
    if (this.#messageHandler !== null) return Promise.reject(handlerIsSet());
    const whole = this.#takeWholeMessage(options);
    if (whole !== null) return Promise.resolve(delivered(whole));
    return (this.#park(options, false) ?? this.#readWholeMessage(options, false, false)) as Promise<
      MessageBytes
    >;
  }

  /**
   * Waits for the next message and returns a reader of its chunks, delivered as they arrive, so that a
   * message of any size streams through in bounded memory (raise `maxMessageSize` for very large ones).
   * Other reads wait until the reader reaches the end or is cancelled. Messages are streamed from the
   * first one that begins after the first `nextReader` call; one that had begun arriving before it is
   * assembled (up to `maxMessageSize`) and read as one chunk.
   */
  async nextReader(options?: CallOptions): Promise<MessageReader> {
    if (this.#messageHandler !== null) throw handlerIsSet();
    if (!this.#has(WANT_STREAMING)) {
      this.#set(WANT_STREAMING, true);
      this.#useStreaming();
    }
    const guard = this.#readGuard(options);
    let current: CurrentMessage;
    try {
      const locking = this.#lockRead(guard);
      if (locking !== undefined) await locking;
      try {
        current = await this.#beginMessage(guard);
      } catch (error) {
        this.#unlockRead();
        throw error;
      }
    } finally {
      guard?.dispose();
    }
    return this.#reader(current);
  }

  /**
   * Iterates over whole messages. The iteration ends quietly when the connection closes normally
   * (`CLOSED_NORMALLY`) and throws the {@link CloseError} otherwise. Breaking out of the loop leaves the
   * connection open.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<Message> {
    // Not an async generator: a step is one read (and one reaction when it waits), where a generator adds
    // its own promises and resumptions to every message. A class, not closures: an idle connection's
    // iteration is one small object.
    return new MessageIterator(this);
  }

  // ---- writing -------------------------------------------------------------------------------------

  /**
   * Writes a whole message. Resolves once its frame is handed to the transport, which happens when every
   * earlier write was and the transport is below its write high-water mark. Text may be given as a string
   * (encoded, unless it is the text of a message `readMessage` just returned) or as UTF-8 bytes (validated,
   * unless `readMessageBytes` returned them); binary as bytes or a string (sent as UTF-8). The bytes are
   * referenced, not copied: do not modify them until they are written (`bufferedAmount`).
   */
  writeMessage(type: MessageType, data: string | Uint8Array, options?: WriteOptions): Promise<void> {
    if (type !== 'text' && type !== 'binary') {
      return Promise.reject(new UsageError('INVALID_ARGUMENT', `unknown message type ${String(type)}`));
    }
    const send = options?.compress === false ? NO_COMPRESS : undefined;
    if (this.#canWriteNow(false, options)) {
      // Fast path (nothing ahead, room in the transport): no job, no closure, no promise of our own.
      try {
        this.#sendWhole(type, data, send);
        this.#pump();
      } catch (error) {
        return Promise.reject(error);
      }
      // Writes queued meanwhile (by a handler the pump ran) go out now; there is no queue otherwise.
      if (this.#queue !== null) this.#processWrites();
      return RESOLVED;
    }
    return this.#enqueue(false, data.length, () => {
      this.#sendWhole(type, data, send);
      this.#pump();
    }, options);
  }

  /**
   * Gives the memory of a received message back for later messages, once every write made before this call
   * has left it (so echoing a message, then releasing it, is safe); the adapter's pool may then hand it out
   * for any connection's next message. Pass the `data` of a binary message (or a `readMessageBytes` result)
   * this connection delivered, at most once, and use it no more, nor any view of it. Bytes the adapter did
   * not allocate from its pool (small messages, views of a read, decompressed ones) are left to the garbage
   * collector, as is everything when the adapter or transport cannot tell when writes are done. Optional:
   * a message never released is simply collected.
   *
   * Why: a message handed to the application is new memory, and at 64 KiB and more making it costs more
   * than unmasking into it (node), faults in fresh pages (Bun) or zero-fills it (Deno).
   */
  release(data: Uint8Array): void {
    if (
      this.#settings.releaseMessage === null || this.#transport.afterWrites === undefined ||
      !(data instanceof Uint8Array)
    ) {
      return;
    }
    const queue = this.#queue;
    // Writes still in Conn's queue reach the transport later: the release waits for its turn behind them.
    if (queue === null) this.#handOver(data);
    else queue.jobs.push({ bytes: 0, run: () => this.#handOver(data), resolve: ignore, reject: ignore });
  }

  /**
   * Has the transport give `data` to `releaseMessage` once everything written so far has left it. While the
   * pump runs — a message handler releasing the message it just echoed — the frames of those writes may still
   * be the engine's output, not yet the transport's, which would then call back too early (the memory reused
   * under a write not yet made): the hand-over waits for the pump to have moved them (see #pump).
   */
  #handOver(data: Uint8Array): void {
    if (this.#has(PUMPING)) {
      (this.#releasing ??= []).push(data);
      return;
    }
    const give = this.#settings.releaseMessage!;
    this.#transport.afterWrites!(() => give(data));
  }

  /**
   * Writes a prepared message: its frame was encoded once and is written as is to every server connection
   * without compression; elsewhere (client masking, negotiated compression) it is encoded for this
   * connection. Queued and resolved like {@link Conn.writeMessage}.
   */
  writePreparedMessage(message: PreparedMessage, options?: CallOptions): Promise<void> {
    return this.#enqueue(false, message.size, () => {
      this.#engine.sendPrepared(message);
      this.#pump();
    }, options);
  }

  /**
   * Starts a message written as a stream: each `write` sends one frame, `close` ends the message. The
   * writer holds the write queue until closed (other messages wait; control frames do not). Resolves when
   * it is this writer's turn.
   */
  async nextWriter(type: MessageType, options?: WriteOptions): Promise<MessageWriter> {
    if (type !== 'text' && type !== 'binary') {
      throw new UsageError('INVALID_ARGUMENT', `unknown message type ${String(type)}`);
    }
    const send = options?.compress === false ? { compress: false } : undefined;
    let closed = false;
    const writer: MessageWriter = {
      type,
      write: (chunk, callOptions) => {
        if (closed) return Promise.reject(new UsageError('INVALID_STATE', 'the writer is closed'));
        return this.#enqueue(true, chunk.length, () => {
          this.#engine.sendMessageChunk(chunk);
          this.#pump();
        }, callOptions);
      },
      close: (chunk = EMPTY, callOptions) => {
        if (closed) return Promise.reject(new UsageError('INVALID_STATE', 'the writer is closed'));
        closed = true;
        const done = this.#enqueue(true, chunk.length, () => {
          this.#engine.sendMessageEnd(chunk);
          if (this.#queue !== null) this.#queue.writer = null;
          this.#pump();
        }, callOptions);
        // An abandoned close leaves the message open: let the caller try again.
        done.catch(() => {
          if (this.#queue?.writer === writer) closed = false;
        });
        return done;
      },
    };
    await this.#enqueue(false, 0, () => {
      this.#engine.sendMessageStart(type, send);
      this.#queueOf().writer = writer;
    }, options);
    return writer;
  }

  // ---- control -------------------------------------------------------------------------------------

  /**
   * Sends a ping (payload ≤ 125 bytes) ahead of queued messages and resolves with the round-trip time in
   * ms when its pong arrives. A pong also answers every earlier ping (RFC 6455 §5.5.3).
   */
  ping(data: Uint8Array = EMPTY, options?: CallOptions): Promise<number> {
    this.#syncClock();
    const failure = this.#writeFailure();
    if (failure !== null) return Promise.reject(failure);
    const guard = new CallGuard(options?.signal, this.#timers, 0, () => undefined);
    if (guard.failed) return Promise.reject(guard.failure);
    try {
      this.#engine.sendPing(data);
    } catch (error) {
      guard.dispose();
      return Promise.reject(error);
    }
    return new Promise<number>((resolve, reject) => {
      const entry: PendingPing = {
        data: data.slice(),
        sentAt: this.#timers.now(),
        resolve: (rtt) => (guard.dispose(), resolve(rtt)),
        reject: (error) => (guard.dispose(), reject(error)),
      };
      const control = this.#controlOf();
      (control.pings ??= []).push(entry);
      guard.onFail(() => {
        const index = control.pings?.indexOf(entry) ?? -1;
        if (index >= 0) control.pings!.splice(index, 1);
        entry.reject(guard.failure);
      });
      this.#pump();
    });
  }

  /** Sends a pong (≤ 125 bytes), e.g. from a custom ping handler. Returns false when no longer open. */
  pong(data: Uint8Array = EMPTY): boolean {
    if (this.#engine.state !== 'open') return false;
    this.#engine.sendPong(data);
    this.#pump();
    return true;
  }

  /** Replaces the ping handler; `null` restores the default (answer with a pong automatically). */
  setPingHandler(handler: PingHandler | null): void {
    this.#controlOf().ping = handler;
    this.#engine.autoPong = handler === null;
  }
  /** Replaces the pong handler; `null` restores the default (nothing beyond resolving `ping()`). */
  setPongHandler(handler: PongHandler | null): void {
    this.#controlOf().pong = handler;
  }
  /**
   * Replaces the close handler, called when the peer's close frame arrives; `null` restores the default
   * (nothing). Either way the engine echoes the close frame, as RFC 6455 §5.5.1 requires.
   */
  setCloseHandler(handler: CloseHandler | null): void {
    this.#controlOf().close = handler;
  }
  /**
   * Hands every whole message to `handler(message, conn)` as it arrives, in order, instead of leaving it for
   * the reads: a callback rather than a loop of `await conn.readMessage()`, which saves a promise per message
   * and, on an idle connection, the suspended read (and, with one handler for all connections, a closure).
   * Text is decoded as by `readMessage`; with `{ bytes: true }` the handler gets {@link MessageBytes}, as
   * from `readMessageBytes` (and the same trust when written back). A promise returned by the handler holds
   * the next message back until it settles (while messages wait, read backpressure applies as for unread
   * ones); a throw or a rejection removes the handler and fails the connection with 1011 (internal error),
   * its `CloseError` keeping the error as `cause`. Messages already received are handed over from a
   * microtask. While a handler is set, reads and `for await` reject with `UsageError('INVALID_STATE')`;
   * `null` removes it, and later messages wait for reads again. Throws `UsageError('INVALID_STATE')` while a
   * read is in progress or once a streaming reader was asked for. The connection's end is not a message:
   * see {@link Conn.closed}.
   */
  setMessageHandler(handler: MessageHandler<Message> | null): void;
  setMessageHandler(handler: MessageHandler<MessageBytes>, options: { readonly bytes: true }): void;
  setMessageHandler(
    handler: MessageHandler<Message> | MessageHandler<MessageBytes> | null,
    options?: { readonly bytes?: boolean },
  ): void {
    if (handler !== null && typeof handler !== 'function') {
      throw new UsageError('INVALID_ARGUMENT', 'the message handler must be a function or null');
    }
    if (handler !== null && this.#messageHandler === null) {
      if (this.#has(READ_LOCKED) || this.#current !== null) {
        throw new UsageError('INVALID_STATE', 'a read is in progress');
      }
      if (this.#has(WANT_STREAMING)) {
        throw new UsageError(
          'INVALID_STATE',
          'a streaming reader was asked for: messages may arrive in parts',
        );
      }
    }
    this.#messageHandler = handler as MessageHandler<never> | null;
    this.#set(HANDLER_BYTES, handler !== null && options?.bytes === true);
    if (handler !== null && this.#inboxHead !== this.#inbox.length && !this.#has(HANDLER_BUSY)) {
      // Delivered from a microtask, not from inside this call; a busy handler's settling delivers them.
      this.#set(HANDLER_BUSY, true);
      void RESOLVED.then(() => this.#handlerSettled());
    }
  }

  /**
   * Starts the closing handshake with `code` (default 1000) and `reason` (≤ 123 bytes), ahead of queued
   * writes (which then reject with `CloseError('CLOSING')`: await writes first to send them). Resolves when
   * the connection is closed; after `closeTimeout` without the peer's answer the transport is destroyed
   * and the outcome is 1006. Calling it again returns the same promise.
   */
  close(code = 1000, reason = ''): Promise<CloseInfo> {
    this.#set(HOLDING, false);
    this.#syncClock();
    const state = this.#engine.state;
    if (state === 'open') {
      try {
        this.#engine.close(code, reason);
      } catch (error) {
        return Promise.reject(error);
      }
      const ending = this.#endingOf();
      ending.closingCode = code;
      ending.closingReason = reason;
      this.#rejectQueued(this.#closingError());
      // After our close frame we must read until the peer's: keep reading whatever the inbox holds.
      this.#setPaused(false);
      this.#pump();
    } else if (state === 'connecting') {
      this.terminate();
    }
    return this.closed;
  }

  /** Destroys the transport at once, without a closing handshake; the outcome is 1006. */
  terminate(): void {
    this.#set(HOLDING, false);
    if (!this.#has(DESTROYED)) {
      this.#set(DESTROYED, true);
      this.#transport.destroy();
    }
    if (this.#engine.state !== 'closed') {
      this.#engine.abort();
      this.#pump();
    }
  }

  // ---- internals: pumping --------------------------------------------------------------------------

  /**
   * Brings the engine's clock to now before a command that starts a deadline (close, ping) or an engine
   * handed over without one (`receiveRequest` takes no time): the engine only learns the time from its
   * inputs, and an idle connection's last input may be long past, which would start the close timeout, the
   * keepalive or a ping's round trip from then. Deadlines already due fire now, as their timer would.
   */
  #syncClock(): void {
    if (this.#engine.state === 'closed') return;
    this.#engine.handleTimeout(this.#timers.now());
    if (!this.#has(PUMPING) && (this.#engine.state as string) === 'closed') this.#pump();
  }

  // What the transport reports (through a TransportInput, see the static block).
  #onData(chunk: Uint8Array): void {
    if (this.#engine.state === 'closed') return;
    this.#engine.receiveData(chunk, this.#timers.now());
    this.#pump();
    if (this.#has(WANT_STREAMING)) this.#useStreaming();
  }

  /**
   * Switches the engine to streaming events once a streaming reader was asked for. Until then the engine
   * assembles each message itself (one buffer of the frame's size, or a view of the received chunk) and
   * Conn queues it as one item. The engine refuses the switch inside a message: that message arrives whole
   * (its reader gets it as one chunk) and the switch is retried after each received chunk.
   */
  #useStreaming(): void {
    if (this.#engine.streaming || this.#engine.state !== 'open') return;
    try {
      this.#engine.streaming = true;
    } catch {
      // Inside a message: retried after the next chunk.
    }
  }
  #onEnd(): void {
    this.#set(HOLDING, false);
    this.#engine.receiveEof();
    this.#pump();
  }
  #onDrain(): void {
    this.#set(WRITABLE, true);
    this.#processWrites();
  }
  #onClosed(error: unknown): void {
    this.#set(HOLDING, false);
    this.#set(TRANSPORT_CLOSED, true);
    this.#set(DESTROYED, true);
    const ending = this.#endingOf();
    if (ending.endGuard !== undefined) this.#timers.clearTimeout(ending.endGuard);
    ending.endGuard = undefined;
    if (this.#engine.state !== 'closed') {
      ending.transportError = error;
      this.#engine.receiveEof();
      this.#pump();
    }
  }

  /** Writes the engine's output, applies its transport action, dispatches its events; until quiet. */
  #pump(): void {
    if (this.#has(PUMPING)) {
      // A command from inside the pump (a handler's write): its output waits for the next round, taken with that
      // of every other write made meanwhile in one array and one pass (handing each write's frames over at once
      // measured slower on short pipelined messages; docs/performance-log.md, round 25).
      this.#set(REPUMP, true);
      return;
    }
    this.#set(PUMPING, true);
    try {
      for (;;) {
        this.#set(REPUMP, false);
        const moved = this.#moveOutput();
        // While holding (below), only output flows: taking events would apply the held-back violation.
        if (this.#has(HOLDING)) {
          if (moved === 0 && !this.#has(REPUMP)) break;
          continue;
        }
        const events = this.#engine.takeEvents();
        let messageEnds = false;
        for (let i = 0; i < events.length; i++) {
          const event = events[i]!;
          if (isMessageEnd(event)) messageEnds = true;
          this.#dispatch(event);
        }
        if (moved === 0 && events.length === 0 && !this.#has(REPUMP)) break;
        // Messages were handed over and the engine holds a violation back behind them (due at once): hold
        // it until the application asks for its next message — after answering these, however many turns
        // that takes (a streamed echo) — or for HOLD_GRACE ms, so an echo goes out before the close
        // (Autobahn 3.2, 4.1.3, 5.15 strict).
        if (messageEnds && this.#dueNow() && !this.#handlerIdle()) {
          this.#set(HOLDING, true);
          this.#holdUntil = this.#timers.now() + Math.min(HOLD_GRACE, this.#settings.closeTimeout);
        }
      }
      this.#applyTransportAction();
    } finally {
      this.#set(PUMPING, false);
    }
    // The engine's output is all the transport's now: releases made meanwhile can wait on it (see #handOver).
    const releasing = this.#releasing;
    if (releasing !== null) {
      this.#releasing = null;
      for (let i = 0; i < releasing.length; i++) this.#handOver(releasing[i]!);
    }
    this.#armTimer();
  }

  /**
   * Writes the engine's output to the transport (dropped once we ended or destroyed it); returns how many
   * chunks there were. Not re-entered (see MOVING): output made meanwhile is left to the pump's next round,
   * behind the chunks still being written.
   */
  #moveOutput(): number {
    // Indexed loops, here and in #pump: the engine returns one shared frozen array when it has nothing, and
    // `for…of` (or `some`) over arrays of two kinds is not inlined (V8 calls its iterator instead).
    const output = this.#engine.takeOutput();
    if (output.length === 0) return 0;
    this.#set(MOVING, true);
    try {
      for (let i = 0; i < output.length; i++) {
        if (!this.#has(ENDED) && !this.#has(DESTROYED)) {
          this.#set(WRITABLE, this.#transport.write(output[i]!));
        }
      }
    } finally {
      this.#set(MOVING, false);
    }
    return output.length;
  }

  /** A message handler is set and has answered every message delivered (nothing to hold a violation for). */
  #handlerIdle(): boolean {
    return this.#messageHandler !== null && !this.#has(HANDLER_BUSY) &&
      this.#inboxHead === this.#inbox.length;
  }

  /** Ends a hold (see #pump): the held-back violation is applied by the next take. */
  #releaseHold(): void {
    if (!this.#has(HOLDING)) return;
    this.#set(HOLDING, false);
    this.#pump();
  }

  #dueNow(): boolean {
    const deadline = this.#engine.pollTimeout();
    return deadline !== undefined && deadline <= this.#timers.now();
  }

  #applyTransportAction(): void {
    const action = this.#engine.transportAction;
    if (action === 'abort' && !this.#has(DESTROYED)) {
      this.#set(DESTROYED, true);
      this.#transport.destroy();
    } else if (action === 'end' && !this.#has(ENDED) && !this.#has(DESTROYED)) {
      this.#set(ENDED, true);
      this.#transport.end();
      // The peer should close its side now; don't wait for it forever.
      if (!this.#has(TRANSPORT_CLOSED)) {
        const ending = this.#endingOf();
        ending.endGuard = this.#timers.setTimeout(() => {
          ending.endGuard = undefined;
          if (!this.#has(TRANSPORT_CLOSED)) {
            this.#set(DESTROYED, true);
            this.#transport.destroy();
          }
        }, this.#settings.closeTimeout);
      }
    }
  }

  #armTimer(): void {
    // While paused for read backpressure, keepalive waits (see the theory of operation). While holding a
    // violation back for the application, the hold's own end is the deadline.
    const deadline = this.#has(HOLDING)
      ? this.#holdUntil
      : this.#has(PAUSED) && this.#engine.state === 'open'
      ? undefined
      : this.#engine.pollTimeout();
    const scheduled = this.#deadline;
    if (scheduled !== null) {
      // One due no later is kept: if it comes early, #onDeadline finds nothing due and arms again. So a
      // keepalive deadline pushed back by every message costs nothing here.
      if (deadline !== undefined && scheduled.at <= deadline) return;
      deadlinesOf(this.#timers).remove(scheduled);
      this.#deadline = null;
    }
    if (deadline !== undefined) this.#deadline = deadlinesOf(this.#timers).add(this, deadline);
  }

  /** The deadline scheduled at `at` came (see #armTimer); it may be earlier than what is due now. */
  #onDeadline(at: number): void {
    this.#deadline = null;
    const now = Math.max(this.#timers.now(), at);
    if (this.#has(HOLDING)) {
      if (now >= this.#holdUntil) this.#releaseHold();
      else this.#armTimer();
      return;
    }
    this.#engine.handleTimeout(now);
    this.#pump();
  }

  #dispatch(event: WebSocketEvent): void {
    switch (event.type) {
      case 'request':
        this.#call(() => this.#opening?.onRequest?.(this, event.request));
        return;
      case 'response':
        this.#response = event.response;
        return;
      case 'open':
        this.#set(IS_OPEN, true);
        this.#opening?.resolve?.();
        this.#handshakeDone();
        return;
      case 'messageStart':
        this.#pushItem(event.messageType === 'text' ? START_TEXT : START_BINARY, 0);
        return;
      case 'messageChunk':
        this.#pushItem({ kind: 'chunk', data: event.data }, event.data.length);
        return;
      case 'messageEnd':
        this.#pushItem(END, 0);
        return;
      case 'ping': {
        const handler = this.#control?.ping;
        if (handler != null) this.#call(() => handler(event.data));
        return;
      }
      case 'pong': {
        this.#settlePings(event.data);
        const handler = this.#control?.pong;
        if (handler != null) this.#call(() => handler(event.data, event.rtt));
        return;
      }
      case 'close': {
        const ending = this.#endingOf();
        ending.closingCode ??= event.code;
        ending.closingReason = event.reason;
        this.#rejectQueued(this.#closingError());
        const handler = this.#control?.close;
        if (handler != null) this.#call(() => handler(event.code, event.reason));
        return;
      }
      case 'closed':
        this.#finish(event);
        return;
      case 'text':
        // The engine's text bytes are always a plain Uint8Array (its own array or a view).
        this.#pushItem({ type: 'text', data: event.bytes }, event.bytes.length);
        return;
      case 'binary':
        // The engine's event, `{ type: 'binary', data }`, is the message itself when its bytes are plain.
        this.#pushItem(
          event.data.constructor === Uint8Array ? event : wholeMessage('binary', event.data),
          event.data.length,
        );
        return;
    }
  }

  /** Runs application code (handlers); an exception fails the connection with 1011 instead of escaping. */
  #call(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.#endingOf().transportError ??= error;
      if (this.#engine.state !== 'closed') this.#engine.fail(1011, 'internal error');
    }
  }

  #finish(event: ClosedEvent): void {
    const code = closeErrorCode(event.code, event.clean);
    const error = new CloseError(
      code,
      event.code,
      event.reason,
      event.clean,
      event.error ?? this.#ending?.transportError,
    );
    this.#closeError = error;
    if (!this.#has(IS_OPEN)) this.#failOpening(event.error ?? error);
    this.#handshakeDone();
    this.#rejectQueued(error);
    if (this.#queue !== null) this.#queue.writer = null;
    const pings = this.#control?.pings ?? null;
    if (pings !== null) {
      this.#control!.pings = null;
      for (const ping of pings) ping.reject(error);
    }
    this.#setPaused(false);
    this.#wakeReader();
    const ending = this.#ending;
    const resolveClosed = ending?.resolveClosed ?? null;
    if (ending !== null) ending.resolveClosed = null;
    resolveClosed?.(closeInfo(error));
    const whenClosed = this.#whenClosed;
    this.#whenClosed = null;
    whenClosed?.(this);
  }

  /** Lets go of what only the opening handshake needed (an idle connection keeps nothing it won't use). */
  #handshakeDone(): void {
    const timer = this.#opening?.timer;
    if (timer !== undefined) this.#timers.clearTimeout(timer);
    this.#opening = null;
    // A failed handshake keeps its rejected promise for late askers; an open one needs none.
    if (this.#has(IS_OPEN)) this.#opened = RESOLVED;
  }

  #endingOf(): Ending {
    return this.#ending ??= {
      closingCode: undefined,
      closingReason: '',
      transportError: undefined,
      endGuard: undefined,
      closed: null,
      resolveClosed: null,
    };
  }

  #queueOf(): WriteQueue {
    return this.#queue ??= { jobs: [], writerJobs: [], writer: null, bytes: 0 };
  }

  #controlOf(): Control {
    return this.#control ??= { pings: null, ping: null, pong: null, close: null };
  }

  // ---- internals: reading --------------------------------------------------------------------------

  /**
   * The guard of one read call, or null when nothing can cut it short (no signal, no read timeout): such a
   * read waits with a bare promise, which keeps an idle connection small.
   */
  #readGuard(options: CallOptions | undefined): CallGuard | null {
    if (options?.signal === undefined && this.#settings.readTimeout <= 0) return null;
    return new CallGuard(
      options?.signal,
      this.#timers,
      this.#settings.readTimeout,
      () => new ConnError('READ_TIMEOUT', 'the read timed out'),
    );
  }

  /**
   * Takes the read turn (reads are served in call order): at once when free (undefined), else a promise
   * of it. The holder passes it on with #unlockRead, exactly once.
   */
  #lockRead(guard: CallGuard | null): Promise<void> | undefined {
    if (!this.#has(READ_LOCKED)) {
      if (guard?.failed === true) return Promise.reject(guard.failure);
      this.#set(READ_LOCKED, true);
      return undefined;
    }
    if (guard === null) return new Promise<void>((resolve) => (this.#readWaiters ??= []).push(resolve));
    return guard.wait<void>((resolve) => {
      const grant = (): void => resolve();
      (this.#readWaiters ??= []).push(grant);
      return () => {
        const index = this.#readWaiters?.indexOf(grant) ?? -1;
        if (index >= 0) this.#readWaiters!.splice(index, 1);
      };
    });
  }

  /** Passes the read turn to the next waiting read, if any. */
  #unlockRead(): void {
    const next = this.#readWaiters?.shift();
    if (next !== undefined) next();
    else this.#set(READ_LOCKED, false);
  }

  /** Returns the message to read, skipping the rest of a cancelled one and waiting for the next start. */
  async #beginMessage(guard: CallGuard | null): Promise<CurrentMessage> {
    for (;;) {
      const current = this.#current;
      if (current !== null && !current.discard) return current;
      const item = this.#shiftItem() ?? await this.#nextItem(guard);
      if (current !== null) {
        if (item.kind === 'end') this.#current = null;
      } else if (item.kind === 'start') {
        this.#current = { type: item.type, parts: [], bytes: 0, discard: false, complete: false };
      } else if (item.kind === undefined) {
        const parts = item.data.length === 0 ? [] : [item.data];
        this.#current = { type: item.type, parts, bytes: item.data.length, discard: false, complete: true };
      }
    }
  }

  async #nextItem(guard: CallGuard | null): Promise<InboxItem> {
    for (;;) {
      const item = this.#shiftItem();
      if (item !== undefined) return item;
      const wait = this.#waitForItem(guard);
      if (wait !== undefined) await wait;
    }
  }

  /**
   * Called when a read finds the inbox empty: a promise of the next delivery, undefined to look again at
   * once (a hold ended), or throws the close error.
   */
  #waitForItem(guard: CallGuard | null): Promise<void> | undefined {
    // The application wants more and everything delivered was read: a hold ends (see #pump). Whether it
    // asks for its next message or waits inside a message that cannot complete, it is done answering.
    if (this.#has(HOLDING)) {
      this.#releaseHold();
      return undefined;
    }
    if (this.#closeError !== null) throw this.#closeError;
    if (guard === null) return new Promise<void>((resolve) => (this.#wake = resolve));
    return guard.wait<void>((resolve) => {
      this.#wake = resolve;
      return () => {
        if (this.#wake === resolve) this.#wake = null;
      };
    });
  }

  /**
   * The fast path of whole-message reads: when no read is in progress and the inbox holds a whole message,
   * takes it synchronously (no guard, lock or promise of our own). Null otherwise, for the slow path
   * (which also rejects an aborted signal, like any read).
   */
  #takeWholeMessage(options: CallOptions | undefined): MessageBytes | null {
    if (this.#has(READ_LOCKED) || this.#current !== null || options?.signal?.aborted === true) return null;
    const inbox = this.#inbox;
    const head = this.#inboxHead;
    const start = inbox[head];
    if (start === undefined) return null;
    if (start.kind === undefined) {
      this.#shiftItem();
      return start;
    }
    if (start.kind !== 'start') return null;
    let end = head + 1;
    while (end < inbox.length && inbox[end]!.kind !== 'end') end++;
    if (end === inbox.length) return null;
    this.#shiftItem();
    let data: Uint8Array;
    if (end === head + 1) {
      data = EMPTY;
    } else if (end === head + 2) {
      data = (this.#shiftItem() as { readonly data: Uint8Array }).data;
    } else {
      const parts: Uint8Array[] = [];
      let bytes = 0;
      for (let i = head + 1; i < end; i++) {
        const chunk = (this.#shiftItem() as { readonly data: Uint8Array }).data;
        parts.push(chunk);
        bytes += chunk.length;
      }
      data = concatBytes(parts, bytes);
    }
    this.#shiftItem();
    return wholeMessage(start.type, data);
  }

  /**
   * The idle connection's read: a whole-message read that nothing can cut short (no signal, no read
   * timeout), with the read turn free, nothing in the inbox, no message begun and no hold or close to deal
   * with, waits as one bare promise whose resolver is kept in #parked — no async frame, guard or wake
   * promise. #wakeReader completes it: with the message, when the next item is a whole one; otherwise by
   * handing the read, with its turn, to #readWholeMessage. Null when the read cannot park. With `step` (an
   * async iteration), it resolves with the iteration step instead (see stepOf): one promise per wait, not a
   * read's and its step's.
   */
  #park(
    options: CallOptions | undefined,
    decode: boolean,
    step?: MessageIteration,
  ): Promise<Message | MessageBytes | IteratorResult<Message>> | null {
    if (
      options?.signal !== undefined || this.#settings.readTimeout > 0 || this.#has(READ_LOCKED) ||
      this.#current !== null || this.#inboxHead !== this.#inbox.length || this.#has(HOLDING) ||
      this.#closeError !== null
    ) {
      return null;
    }
    this.#set(READ_LOCKED, true);
    this.#set(PARKED_DECODE, decode);
    this.#parkedStep = step ?? null;
    return new Promise((resolve) => {
      this.#parked = resolve;
    });
  }

  /** Completes the parked read (see #park); it holds the read turn. */
  #unpark(resolve: ParkedRead): void {
    const decode = this.#has(PARKED_DECODE);
    const step = this.#parkedStep;
    this.#parkedStep = null;
    const item = this.#inbox[this.#inboxHead];
    let message: Message | MessageBytes | Promise<Message | MessageBytes>;
    if (item !== undefined && item.kind === undefined) {
      this.#shiftItem();
      this.#unlockRead();
      message = decode ? this.#decoded(item) : delivered(item);
    } else {
      // A streamed message, the close: the general path, which keeps the turn.
      message = this.#readWholeMessage(undefined, decode, true);
    }
    resolve(step === null ? message : stepOf(step, message));
  }

  /**
   * Whole-message reads that must wait (for the read turn or for data); `decode`: text as a string;
   * `locked`: the read turn is already held (a parked read handed over). One async frame (no nested ones).
   */
  async #readWholeMessage(
    options: CallOptions | undefined,
    decode: boolean,
    locked: boolean,
  ): Promise<Message | MessageBytes> {
    const guard = this.#readGuard(options);
    try {
      const locking = locked ? undefined : this.#lockRead(guard);
      if (locking !== undefined) await locking;
      try {
        for (;;) {
          const item = this.#shiftItem();
          if (item === undefined) {
            const wait = this.#waitForItem(guard);
            if (wait !== undefined) await wait;
            continue;
          }
          const current = this.#current;
          if (current === null) {
            if (item.kind === undefined) return decode ? this.#decoded(item) : delivered(item);
            if (item.kind === 'start') {
              this.#current = { type: item.type, parts: [], bytes: 0, discard: false, complete: false };
            }
          } else if (current.discard) {
            // The rest of a message whose reader was cancelled.
            if (item.kind === 'end') this.#current = null;
          } else if (item.kind === 'chunk') {
            current.parts.push(item.data);
            current.bytes += item.data.length;
          } else if (item.kind === 'end') {
            this.#current = null;
            const whole = wholeMessage(current.type, concatBytes(current.parts, current.bytes));
            return decode ? this.#decoded(whole) : delivered(whole);
          }
        }
      } finally {
        this.#unlockRead();
      }
    } finally {
      guard?.dispose();
    }
  }

  #reader(current: CurrentMessage): MessageReader {
    let done = false;
    let busy = false;
    // Once: `done` turns every later call away.
    const finish = (): void => {
      done = true;
      this.#unlockRead();
    };
    const reader: MessageReader = {
      type: current.type,
      read: async (options) => {
        if (done) return null;
        if (busy) throw new UsageError('INVALID_STATE', 'a read of this reader is already in progress');
        const part = current.parts.shift();
        if (part !== undefined) {
          current.bytes -= part.length;
          return part;
        }
        if (current.complete) {
          this.#current = null;
          finish();
          return null;
        }
        busy = true;
        const guard = this.#readGuard(options);
        try {
          const item = this.#shiftItem() ?? await this.#nextItem(guard);
          if (item.kind === 'end') {
            this.#current = null;
            finish();
            return null;
          }
          return item.kind === 'chunk' ? item.data : EMPTY;
        } catch (error) {
          if (error instanceof CloseError) finish();
          throw error;
        } finally {
          busy = false;
          guard?.dispose();
        }
      },
      cancel: () => {
        if (done) return;
        current.discard = true;
        current.parts = [];
        current.bytes = 0;
        // A message that arrived whole has no end item left to skip to.
        if (current.complete && this.#current === current) this.#current = null;
        finish();
      },
      async *[Symbol.asyncIterator]() {
        try {
          for (;;) {
            const chunk = await reader.read();
            if (chunk === null) return;
            yield chunk;
          }
        } finally {
          reader.cancel();
        }
      },
    };
    return reader;
  }

  #pushItem(item: InboxItem, bytes: number): void {
    if (this.#inbox === NO_ITEMS) this.#inbox = [item];
    else this.#inbox.push(item);
    this.#inboxBytes += bytes;
    if (this.#inboxBytes > this.#settings.readHighWaterMark && this.#engine.state === 'open') {
      this.#setPaused(true);
    }
    this.#wakeReader();
  }

  #shiftItem(): InboxItem | undefined {
    if (this.#inboxHead === this.#inbox.length) return undefined;
    const item = this.#inbox[this.#inboxHead]!;
    this.#inbox[this.#inboxHead] = undefined as unknown as InboxItem;
    this.#inboxHead++;
    if (this.#inboxHead === this.#inbox.length) {
      this.#inbox = NO_ITEMS;
      this.#inboxHead = 0;
    } else if (this.#inboxHead > 1024 && this.#inboxHead * 2 > this.#inbox.length) {
      this.#inbox = this.#inbox.slice(this.#inboxHead);
      this.#inboxHead = 0;
    }
    if (item.kind === 'chunk' || item.kind === undefined) {
      this.#inboxBytes -= item.data.length;
      if (this.#has(PAUSED) && this.#inboxBytes <= this.#settings.readHighWaterMark / 2) {
        this.#setPaused(false);
      }
    }
    return item;
  }

  /**
   * Hands the inbox's messages to the message handler, in order, until it is empty, the handler is removed
   * or it returned a promise (HANDLER_BUSY until that settles). A handler's write pumps from inside this
   * (as from inside #pump): messages that arrive meanwhile are taken by this loop, not by a nested one.
   */
  #deliver(): void {
    if (this.#has(HANDLER_BUSY) || this.#has(DELIVERING)) return;
    this.#set(DELIVERING, true);
    try {
      for (;;) {
        const handler = this.#messageHandler;
        if (handler === null) return;
        // Only whole messages: a handler is never set on a connection that streams (see setMessageHandler),
        // and nextReader refuses while one is set.
        const item = this.#shiftItem() as MessageBytes | undefined;
        if (item === undefined) break;
        let result: void | PromiseLike<void>;
        try {
          result = (handler as MessageHandler<Message | MessageBytes>)(
            this.#has(HANDLER_BYTES) ? delivered(item) : this.#decoded(item),
            this,
          );
        } catch (error) {
          this.#handlerFailed(error);
          return;
        }
        // A write's own settled promise (writeMessage's fast path) needs no wait.
        if (result !== undefined && result !== RESOLVED && typeof result?.then === 'function') {
          this.#set(HANDLER_BUSY, true);
          result.then(
            () => this.#handlerSettled(),
            (error: unknown) => {
              this.#set(HANDLER_BUSY, false);
              this.#handlerFailed(error);
            },
          );
          return;
        }
      }
    } finally {
      this.#set(DELIVERING, false);
    }
    // Everything delivered was answered: a violation held back behind these messages goes now (see #pump).
    if (this.#has(HOLDING) && !this.#has(PUMPING)) this.#releaseHold();
  }

  /** The handler's promise settled (or messages were waiting when it was set): deliver the rest. */
  #handlerSettled(): void {
    this.#set(HANDLER_BUSY, false);
    if (this.#messageHandler !== null) this.#deliver();
  }

  /**
   * The message handler threw or rejected: it gets nothing more (messages after it stay for reads), and the
   * connection fails with 1011, keeping the error as the cause.
   */
  #handlerFailed(error: unknown): void {
    this.#messageHandler = null;
    this.#endingOf().transportError ??= error;
    if (this.#engine.state !== 'closed') {
      this.#engine.fail(1011, 'internal error');
      this.#set(HOLDING, false);
      this.#pump();
    }
  }

  #setPaused(paused: boolean): void {
    if (paused === this.#has(PAUSED)) return;
    this.#set(PAUSED, paused);
    if (this.#has(TRANSPORT_CLOSED)) return;
    if (paused) this.#transport.pause();
    else {
      this.#transport.resume();
      if (!this.#has(PUMPING)) this.#armTimer();
    }
  }

  #wakeReader(): void {
    if (this.#messageHandler !== null) {
      this.#deliver();
      return;
    }
    const parked = this.#parked;
    if (parked !== null) {
      this.#parked = null;
      this.#unpark(parked);
      return;
    }
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  // ---- internals: writing --------------------------------------------------------------------------

  #closingError(): CloseError {
    const ending = this.#ending;
    return new CloseError('CLOSING', ending?.closingCode ?? 1000, ending?.closingReason ?? '', false);
  }

  #writeFailure(): CloseError | null {
    if (this.#closeError !== null) return this.#closeError;
    if (this.#engine.state !== 'open') return this.#closingError();
    return null;
  }

  #enqueue(
    writerLane: boolean,
    bytes: number,
    run: () => void,
    options: CallOptions | undefined,
  ): Promise<void> {
    const failure = this.#writeFailure();
    if (failure !== null) return Promise.reject(failure);
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#canWriteNow(writerLane, options)) {
      // Fast path: nothing ahead of us and room in the transport.
      try {
        run();
      } catch (error) {
        return Promise.reject(error);
      }
      // Writes queued meanwhile (by a handler the pump ran) go out now; there is no queue otherwise.
      if (this.#queue !== null) this.#processWrites();
      return RESOLVED;
    }
    return new Promise<void>((resolve, reject) => {
      const queue = this.#queueOf();
      const lane = writerLane ? queue.writerJobs : queue.jobs;
      const guard = new CallGuard(
        signal,
        this.#timers,
        this.#settings.writeTimeout,
        () => new ConnError('WRITE_TIMEOUT', 'the write timed out waiting for the transport'),
      );
      const job: WriteJob = {
        bytes,
        run,
        resolve: () => (guard.dispose(), resolve()),
        reject: (error) => (guard.dispose(), reject(error)),
      };
      guard.onFail(() => {
        const index = lane.indexOf(job);
        if (index >= 0) {
          lane.splice(index, 1);
          queue.bytes -= bytes;
        }
        job.reject(guard.failure);
      });
      lane.push(job);
      queue.bytes += bytes;
      this.#processWrites();
    });
  }

  /**
   * Whether a write on the writer's lane (or the messages' lane) may run at once: it is the lane in use,
   * nothing is ahead of it, there is room in the transport, and nothing makes it fail (those go through
   * #enqueue, which rejects them).
   */
  #canWriteNow(writerLane: boolean, options: CallOptions | undefined): boolean {
    const queue = this.#queue;
    return (queue === null || (writerLane ? queue.writerJobs : queue.jobs).length === 0) &&
      this.#has(WRITABLE) && !this.#has(PROCESSING) &&
      writerLane === (queue !== null && queue.writer !== null) && this.#engine.state === 'open' &&
      this.#closeError === null && options?.signal?.aborted !== true;
  }

  /** Has the engine encode one whole message. */
  #sendWhole(type: MessageType, data: string | Uint8Array, send: SendOptions | undefined): void {
    if (typeof data === 'string') {
      if (type !== 'text') return this.#engine.sendBinary(utf8Encoder.encode(data), send);
      // The text of a message readMessage returned goes out as the bytes it came in (see `keptTexts`).
      const bytes = keptBytes(data);
      if (bytes !== undefined) return this.#engine.sendText(bytes, trusted(send));
      if (data.length > LONG_TEXT && (send === NO_COMPRESS || this.#engine.extensions === null)) {
        // Not to be compressed (none negotiated, or not for this message): encoded into the adapter's frame
        // memory, or sent by the engine in fragments (see FRAGMENT).
        if (this.#settings.releaseFrame !== null && data.length <= LONG_TEXT_MAX) {
          return this.#sendLongText(data, send);
        }
        if (this.#settings.fragmentLongText) return this.#engine.sendText(data, FRAGMENT);
      }
      return this.#engine.sendText(data, send);
    }
    if (type === 'binary') this.#engine.sendBinary(data, send);
    // Bytes that readMessageBytes returned were validated on arrival: not again (see `receivedText`).
    else this.#engine.sendText(data, receivedText.has(data) ? trusted(send) : send);
  }

  /**
   * A string of more than LONG_TEXT units, uncompressed, encoded into one frame of the adapter's memory
   * (`allocateFrame`), which its transport gives back once written. The frame has room for three bytes per
   * unit, the most UTF-8 takes: Bun's `encodeInto` into less room than a string needs took 25 times as long
   * (4.0 ms against 0.16 for the benchmark's 1 MiB text, whose units are not all Latin-1). What is not used
   * goes back at once (`releaseFrame`), as does a client's payload once the engine copied it masked.
   */
  #sendLongText(data: string, send: SendOptions | undefined): void {
    const allocate = this.#settings.allocateFrame!;
    const release = this.#settings.releaseFrame!;
    let out = allocate(3 * data.length);
    const written = utf8Encoder.encodeInto(data, out).written;
    if (written < out.length) {
      release(out.subarray(written));
      out = out.subarray(0, written);
    }
    try {
      this.#engine.sendText(out, trusted(send));
    } finally {
      if (this.#engine.role === 'client') release(out);
    }
  }

  #processWrites(): void {
    if (this.#has(PROCESSING)) return;
    this.#set(PROCESSING, true);
    try {
      while (this.#has(WRITABLE)) {
        const queue = this.#queue;
        if (queue === null) break;
        const job = (queue.writer !== null ? queue.writerJobs : queue.jobs).shift();
        if (job === undefined) break;
        queue.bytes -= job.bytes;
        const failure = this.#writeFailure();
        if (failure !== null) {
          job.reject(failure);
          continue;
        }
        try {
          job.run();
        } catch (error) {
          job.reject(error);
          continue;
        }
        job.resolve();
      }
    } finally {
      this.#set(PROCESSING, false);
      this.#dropQueueIfEmpty();
    }
  }

  /** Lets go of the write queue once nothing waits in it and no writer holds it. */
  #dropQueueIfEmpty(): void {
    const queue = this.#queue;
    if (queue !== null && queue.writer === null && queue.jobs.length === 0 && queue.writerJobs.length === 0) {
      this.#queue = null;
    }
  }

  #rejectQueued(error: CloseError): void {
    const queue = this.#queue;
    if (queue === null) return;
    const jobs = queue.jobs.splice(0).concat(queue.writerJobs.splice(0));
    queue.bytes = 0;
    this.#dropQueueIfEmpty();
    for (const job of jobs) job.reject(error);
  }

  #has(flag: number): boolean {
    return (this.#flags & flag) !== 0;
  }

  #set(flag: number, on: boolean): void {
    this.#flags = on ? this.#flags | flag : this.#flags & ~flag;
  }

  /**
   * A whole message as `readMessage` returns it. The bytes of a decoded text message are unreachable once
   * decoded (nothing but the inbox held them), so they go back to the adapter's pool (`releaseMessage`), or
   * are kept with the string for writing it back (`keepText`).
   */
  #decoded(message: MessageBytes): Message {
    // A binary message is already what readMessage returns: no second object for it.
    if (message.type !== 'text') return message as Message;
    const decoded: Message = { type: 'text', data: utf8Decoder.decode(message.data) };
    const release = this.#settings.releaseMessage;
    if (release !== null && this.#settings.releaseDecodedText) release(message.data);
    else if (message.data.length >= TRUST_MIN) keepText(decoded, message.data);
    return decoded;
  }

  #settlePings(data: Uint8Array): void {
    const pings = this.#control?.pings ?? null;
    if (pings === null) return;
    const index = pings.findIndex((ping) => equalBytes(ping.data, data));
    if (index < 0) return;
    const now = this.#timers.now();
    for (const ping of pings.splice(0, index + 1)) ping.resolve(now - ping.sentAt);
  }
}

// Conn's flags (#flags).
/** The opening handshake completed. */
const IS_OPEN = 1 << 0;
/** #pump is running; REPUMP: it must go round again (a command came from inside it). */
const PUMPING = 1 << 1;
const REPUMP = 1 << 2;
/** We ended our side of the transport; DESTROYED: we destroyed it (or it closed). */
const ENDED = 1 << 3;
const DESTROYED = 1 << 4;
/** The transport reported `closed`. */
const TRANSPORT_CLOSED = 1 << 5;
/**
 * A violation the engine holds back behind messages just delivered, held until the application asks for
 * its next message (see #pump).
 */
const HOLDING = 1 << 6;
/** The transport is paused for read backpressure. */
const PAUSED = 1 << 7;
/** A streaming reader was asked for: the engine delivers streaming events from the next message on. */
const WANT_STREAMING = 1 << 8;
/** The parked read (#parked) wants text decoded. */
const PARKED_DECODE = 1 << 9;
/** A read holds the read turn. */
const READ_LOCKED = 1 << 10;
/** The transport's last write returned true (below its high-water mark). */
const WRITABLE = 1 << 11;
/** #processWrites is running. */
const PROCESSING = 1 << 12;
/** The message handler (#messageHandler) gets MessageBytes, not decoded text. */
const HANDLER_BYTES = 1 << 13;
/** The message handler's last promise has not settled yet (or a delivery from a microtask is due). */
const HANDLER_BUSY = 1 << 14;
/** #deliver is running. */
const DELIVERING = 1 << 15;
/** #moveOutput is writing the engine's output to the transport. */
const MOVING = 1 << 16;

/** What reads reject with while a message handler is set. */
function handlerIsSet(): UsageError {
  return new UsageError('INVALID_STATE', 'a message handler is set: messages go to it, not to reads');
}

/** Strings longer than this (UTF-16 units) are sent by #sendLongText or in fragments, when uncompressed. */
const LONG_TEXT = 64 * 1024;
/**
 * #sendLongText takes strings of up to this many units: its frames (3 bytes per unit, in a size class of
 * twice that at most) stay within what a `FrameRing` keeps for later by default (8 MiB); longer ones are
 * encoded by the engine, into as many bytes as they need.
 */
const LONG_TEXT_MAX = 1024 * 1024;
/**
 * With `fragmentLongText`, for strings sent uncompressed: the engine sends one longer than 65,536 UTF-16
 * units in fragments (the core's `fragment` send option), so no fresh buffer of the message's size is made
 * for it.
 */
const FRAGMENT: SendOptions = { fragment: true, compress: false };
const NO_COMPRESS: SendOptions = { compress: false };
const VALIDATED: SendOptions = { validated: true };
const VALIDATED_NO_COMPRESS: SendOptions = { compress: false, validated: true };

/**
 * Text bytes of `TRUST_MIN` bytes or more that `readMessageBytes` returned: the engine validated them as they
 * arrived, so writing them back as text (an echo, a relay to other connections) skips a second validation.
 * Shared by all connections; a WeakSet keeps none of them alive. Smaller text is validated again, which
 * costs less than remembering it (adding and finding a WeakSet entry costs about what `isUtf8` does on 4–8
 * KiB).
 */
const receivedText = new WeakSet<Uint8Array>();
const TRUST_MIN = 16 * 1024;

/**
 * The last few text messages of `TRUST_MIN` bytes or more decoded to strings for the application (by
 * `readMessage` or the iterator), each with the UTF-8 bytes it was decoded from (validated on arrival), for
 * as long as the application holds the message: writing that string as text (an echo, a relay to other
 * connections) sends those bytes instead of encoding it again. Shared by all connections; the messages are
 * held weakly, and their bytes only through them (`textBytes`), so this keeps nothing alive that the
 * application dropped, and at most `KEPT_TEXTS` messages' bytes besides their strings. Not when an adapter
 * takes the bytes back once decoded (`releaseMessage`: Bun's, whose `TextEncoder` costs a seventh of Deno's:
 * `encodeInto` of 64 KiB of the benchmark's text took 74.2 µs on Deno, 10.5 on Bun; docs/performance-log.md,
 * round 16).
 */
const keptTexts: Array<WeakRef<Message>> = [];
let nextKept = 0;
const KEPT_TEXTS = 4;
const textBytes = new WeakMap<Message, Uint8Array>();

/** Remembers a decoded text message and its bytes (see `keptTexts`), in place of the oldest one. */
function keepText(message: Message, bytes: Uint8Array): void {
  const oldest = keptTexts[nextKept]?.deref();
  if (oldest !== undefined) textBytes.delete(oldest);
  textBytes.set(message, bytes);
  keptTexts[nextKept] = new WeakRef(message);
  nextKept = (nextKept + 1) % KEPT_TEXTS;
}

/** The UTF-8 bytes of `text` if a kept message has that text (see `keptTexts`). */
function keptBytes(text: string): Uint8Array | undefined {
  if (text.length * 3 < TRUST_MIN) return undefined; // under TRUST_MIN bytes of UTF-8, whatever it holds
  for (const kept of keptTexts) {
    const message = kept.deref();
    // Equal strings have equal UTF-8, whichever message they came from (the same string compares at once).
    if (message !== undefined && message.data === text) return textBytes.get(message);
  }
  return undefined;
}

/** `send` for text bytes validated on arrival (see `receivedText` and `keptTexts`): not checked again. */
function trusted(send: SendOptions | undefined): SendOptions {
  return send === undefined ? VALIDATED : VALIDATED_NO_COMPRESS;
}

/** A whole message handed to the application as bytes (see `receivedText`). */
function delivered(message: MessageBytes): MessageBytes {
  if (message.type === 'text' && message.data.length >= TRUST_MIN) receivedText.add(message.data);
  return message;
}

function ignore(): void {}

function closeInfo(error: CloseError): CloseInfo {
  return { code: error.closeCode, reason: error.reason, clean: error.clean, error };
}

function wholeMessage(type: MessageType, data: Uint8Array): MessageBytes {
  // A codec may hand out subclasses (node Buffers): the API promises plain Uint8Arrays.
  if (data.constructor !== Uint8Array) data = new Uint8Array(data.buffer, data.byteOffset, data.length);
  return { type, data };
}

const ITERATION_DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

function iterationStep(value: Message): IteratorYieldResult<Message> {
  return { value, done: false };
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The longest a held-back violation waits for the application to ask for its next message, in ms. */
const HOLD_GRACE = 1000;

function isMessageEnd(event: WebSocketEvent): boolean {
  return event.type === 'messageEnd' || event.type === 'text' || event.type === 'binary';
}
