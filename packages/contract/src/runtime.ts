/**
 * What a runner hands the contract suite: its adapter's entry points, two raw-socket helpers (for the
 * CONNECT proxy and hand-written handshakes) and the capabilities it lacks, each with its reason.
 *
 * @module
 */

import type {
  Conn,
  Connect,
  DialOptions,
  DialResult,
  ShutdownOptions,
  Transport,
  Upgrader,
  UpgraderOptions,
} from '@sansws/conn';
import type { HttpRequest } from '@sansws/core';
import type { WebRequest, WebResponse } from './web.ts';

/** The adapter Upgrader options the suite uses (every adapter accepts them: compression as a boolean). */
export type SuiteUpgraderOptions = Omit<UpgraderOptions, 'timers' | 'compression'> & {
  readonly compression?: boolean;
};

/** The adapter dial options the suite uses. */
export type SuiteDialOptions = Omit<DialOptions, 'connect' | 'timers' | 'compression' | 'proxy'> & {
  readonly compression?: boolean;
  readonly proxy?: string | null;
};

/** The adapter listen options the suite uses (TLS as PEM key and certificate: every adapter takes them). */
export interface SuiteListenOptions {
  readonly handler: (conn: Conn, request: HttpRequest) => void | Promise<void>;
  readonly upgrader?: Upgrader;
  readonly tls?: { readonly key: string; readonly cert: string };
  readonly fetch?: (request: WebRequest) => WebResponse | Promise<WebResponse>;
  readonly maxBodySize?: number;
  readonly onError?: (error: unknown) => void;
}

/** A running adapter listener. */
export interface SuiteListener {
  readonly port: number;
  readonly url: string;
  shutdown(options?: ShutdownOptions): Promise<void>;
}

/** A raw TCP server of the runtime, handing out accepted connections as transports. */
export interface TcpServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Capabilities an adapter may lack. A runner lists the ones its runtime lacks, each with the reason (also
 * written in docs/runtimes.md); the cases that need them are reported as skipped with that reason.
 */
export interface Capabilities {
  /** `tls.rejectUnauthorized: false` on a client: accept any certificate. */
  readonly tlsSkipVerify?: string;
}

/** The runtime and adapter under test. */
export interface RuntimeUnderTest {
  /** E.g. `bun 1.4.5`. */
  readonly name: string;
  readonly listen: (options: SuiteListenOptions) => Promise<SuiteListener>;
  readonly dial: (url: string, options?: SuiteDialOptions) => Promise<DialResult>;
  readonly createUpgrader: (options?: SuiteUpgraderOptions) => Upgrader;
  /** The adapter's own `connect` (raw TCP or TLS transports). */
  readonly connect: Connect;
  /** A raw TCP server on 127.0.0.1, port 0, over the adapter's transport. */
  readonly serveTcp: (onTransport: (transport: Transport) => void) => Promise<TcpServer>;
  /** Missing capabilities, with their reasons. */
  readonly missing?: Capabilities;
}
