/**
 * The Web globals the suite uses (fetch, Request/Response, AbortController, setTimeout, performance), typed
 * locally so that it compiles without DOM or runtime type libraries; every runtime has them.
 */

import type { AbortSignalLike } from '@sansws/conn';

/** The part of a Web `Request` a fetch handler reads. */
export interface WebRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/** A Web `Response`. */
export interface WebResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: {
    get(name: string): string | null;
    forEach(callback: (value: string, name: string) => void): void;
  };
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

interface Globals {
  Response: new (
    body?: string | Uint8Array | null,
    init?: { status?: number; headers?: Record<string, string> },
  ) => WebResponse;
  fetch(url: string, init?: { method?: string; body?: string }): Promise<WebResponse>;
  AbortController: new () => { readonly signal: AbortSignalLike; abort(reason?: unknown): void };
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  performance: { now(): number };
  URL: new (url: string) => { readonly pathname: string; readonly protocol: string };
  TextEncoder: new () => { encode(text: string): Uint8Array };
  TextDecoder: new (label?: string) => { decode(bytes: Uint8Array): string };
}

export const web: Globals = globalThis as unknown as Globals;
export const encoder: InstanceType<Globals['TextEncoder']> = new web.TextEncoder();
export const decoder: InstanceType<Globals['TextDecoder']> = new web.TextDecoder('latin1');

/** A macrotask turn: lets I/O callbacks run (no time is meant to pass). */
export function turn(): Promise<void> {
  return new Promise((resolve) => web.setTimeout(resolve, 0));
}

/** Whether `promise` is still pending after `turns` macrotask turns. */
export async function stillPending(promise: Promise<unknown>, turns = 20): Promise<boolean> {
  let settled = false;
  promise.then(() => (settled = true), () => (settled = true));
  for (let i = 0; i < turns && !settled; i++) await turn();
  return !settled;
}

/** A promise and its resolver. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Rejects with a labelled error if `promise` takes longer than `ms` (a bound, not a synchronisation). */
export function within<T>(ms: number, label: string, promise: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = web.setTimeout(() => reject(new Error(`${label}: not done within ${ms} ms`)), ms);
    promise.then(
      (value) => (web.clearTimeout(timer), resolve(value)),
      (error: unknown) => (web.clearTimeout(timer), reject(error)),
    );
  });
}
