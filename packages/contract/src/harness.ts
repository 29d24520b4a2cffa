/**
 * The suite's scaffolding: cases with their own cleanup scope, and servers whose accepted connections a
 * case can take one by one.
 *
 * @module
 */

import type { Conn, DialResult } from '@sansws/conn';
import type { HttpRequest } from '@sansws/core';
import type {
  Capabilities,
  RuntimeUnderTest,
  SuiteDialOptions,
  SuiteListener,
  SuiteListenOptions,
  SuiteUpgraderOptions,
} from './runtime.ts';

/** One named case of the contract. */
export interface ContractCase {
  /** `group › name`. */
  readonly name: string;
  /** Set when the runtime lacks a capability the case needs: the reason (the runner skips it). */
  readonly skip?: string;
  /** Runs the case; rejects on failure. Everything it opened is closed when it settles. */
  readonly run: () => Promise<void>;
}

/** Cleanups of one case, run in reverse order when it ends, pass or fail. */
export class Scope {
  #cleanups: Array<() => unknown> = [];
  defer(cleanup: () => unknown): void {
    this.#cleanups.push(cleanup);
  }
  async close(): Promise<void> {
    for (const cleanup of this.#cleanups.reverse()) {
      try {
        await cleanup();
      } catch {
        // best effort
      }
    }
  }
}

/** A queue of values that arrive over time (accepted connections). */
export class Arrivals<T> {
  #items: T[] = [];
  #waiters: Array<(value: T) => void> = [];
  push(value: T): void {
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter(value);
    else this.#items.push(value);
  }
  next(): Promise<T> {
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

/** A listener whose accepted connections are queued (the handler returns at once). */
export interface TestServer extends SuiteListener {
  /** The next accepted connection and its request. */
  accept(): Promise<{ conn: Conn; request: HttpRequest }>;
  /** Errors reported to `onError`. */
  readonly errors: unknown[];
}

export interface ServerSetup extends Omit<SuiteListenOptions, 'handler' | 'upgrader'> {
  readonly upgrader?: SuiteUpgraderOptions;
  /** Default: queue the connection for `accept()`. */
  readonly handler?: SuiteListenOptions['handler'];
}

/** An echo handler: every message back, until the peer closes. */
export async function echo(conn: Conn): Promise<void> {
  try {
    for await (const message of conn) await conn.writeMessage(message.type, message.data);
  } catch {
    // abnormal closes end the echo
  }
}

/** What cases are written against: the runtime plus servers and clients that clean up after themselves. */
export class Harness {
  constructor(readonly runtime: RuntimeUnderTest, readonly scope: Scope) {}

  async server(setup: ServerSetup = {}): Promise<TestServer> {
    const accepted = new Arrivals<{ conn: Conn; request: HttpRequest }>();
    const errors: unknown[] = [];
    const { upgrader, handler, ...rest } = setup;
    const listener = await this.runtime.listen({
      ...rest,
      upgrader: this.runtime.createUpgrader(upgrader),
      handler: handler ?? ((conn, request) => accepted.push({ conn, request })),
      onError: (error) => errors.push(error),
    });
    this.scope.defer(() => listener.shutdown({ timeout: 500 }));
    return { ...listener, shutdown: listener.shutdown, accept: () => accepted.next(), errors };
  }

  echoServer(setup: ServerSetup = {}): Promise<TestServer> {
    return this.server({ ...setup, handler: echo });
  }

  async dial(url: string, options: SuiteDialOptions = {}): Promise<DialResult> {
    const result = await this.runtime.dial(url, { proxy: null, ...options });
    this.scope.defer(() => result.conn.terminate());
    return result;
  }

  /** Dials `server` and returns both ends. */
  async pair(
    server: TestServer,
    options: SuiteDialOptions = {},
  ): Promise<{ client: Conn; server: Conn; request: HttpRequest }> {
    const { conn } = await this.dial(server.url, options);
    const accepted = await server.accept();
    this.scope.defer(() => accepted.conn.terminate());
    return { client: conn, server: accepted.conn, request: accepted.request };
  }
}

/** Builds the case list from group bodies. */
export function caseBuilder(runtime: RuntimeUnderTest): {
  cases: ContractCase[];
  add(name: string, body: (h: Harness) => Promise<void>, needs?: keyof Capabilities): void;
  group(name: string, define: () => void): void;
} {
  const cases: ContractCase[] = [];
  let prefix = '';
  return {
    cases,
    group(name, define) {
      const saved = prefix;
      prefix = saved === '' ? name : `${saved} › ${name}`;
      define();
      prefix = saved;
    },
    add(name, body, needs) {
      const skip = needs === undefined ? undefined : runtime.missing?.[needs];
      cases.push({
        name: prefix === '' ? name : `${prefix} › ${name}`,
        ...(skip !== undefined ? { skip } : {}),
        run: async () => {
          const scope = new Scope();
          try {
            await body(new Harness(runtime, scope));
          } finally {
            await scope.close();
          }
        },
      });
    },
  };
}
