/**
 * Loads the npm `ws` package twice in one process: once as installed (using the native `bufferutil` addon
 * when it loads) and once with its optional addons disabled through ws's own environment switches
 * (WS_NO_BUFFER_UTIL, WS_NO_UTF_8_VALIDATE), by purging ws's modules from the CommonJS cache and
 * requiring them again. Each instance reports which masking and UTF-8 code it actually picked.
 */

import type { Buffer } from 'node:buffer';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import process from 'node:process';

export interface WsReceiver {
  write(chunk: Buffer): boolean;
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
}

export interface WsReceiverClass {
  new (options: { isServer: boolean }): WsReceiver;
}

export interface WsFrameOptions {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
  maskBuffer?: Buffer;
  generateMask?: (mask: Buffer) => void;
}

export interface WsSenderClass {
  frame(data: Buffer | string, options: WsFrameOptions): Buffer[];
}

export interface WsInstance {
  readonly Receiver: WsReceiverClass;
  readonly Sender: WsSenderClass;
  /** Which unmask/mask code ws's buffer-util picked. */
  readonly masking: string;
  /** Which UTF-8 validator ws's validation module picked (for payloads of 24+ bytes). */
  readonly utf8: string;
}

export interface AddonStatus {
  readonly name: string;
  readonly version: string | null;
  /** True when the native binary (not the package's JS fallback) loaded. */
  readonly native: boolean;
  readonly detail: string;
}

export interface WsInstances {
  readonly version: string;
  readonly withAddons: WsInstance;
  readonly withoutAddons: WsInstance;
  readonly addons: readonly AddonStatus[];
}

const require = createRequire(import.meta.url);

function addonStatus(name: string): AddonStatus {
  let version: string | null = null;
  try {
    version = (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    // not installed
  }
  try {
    const exported = require(name) as ((...args: unknown[]) => unknown) | Record<string, unknown>;
    const probe = typeof exported === 'function' ? exported : exported['unmask'];
    // Both packages fall back to plain JS when no binary loads; a native function prints `[native code]`.
    const native = typeof probe === 'function' &&
      Function.prototype.toString.call(probe).includes('[native code]');
    return { name, version, native, detail: native ? 'native binary loaded' : 'loaded its JS fallback only' };
  } catch (error) {
    return { name, version, native: false, detail: `require failed: ${(error as Error).message}` };
  }
}

function loadInstance(dir: string): WsInstance {
  const lib = (file: string): unknown => require(join(dir, 'lib', file));
  const bufferUtil = lib('buffer-util.js') as { unmask: (...args: unknown[]) => unknown };
  const validation = lib('validation.js') as { isValidUTF8: (...args: unknown[]) => unknown };
  const unmaskSource = Function.prototype.toString.call(bufferUtil.unmask);
  const utf8Source = Function.prototype.toString.call(validation.isValidUTF8);
  return {
    Receiver: lib('receiver.js') as WsReceiverClass,
    Sender: lib('sender.js') as WsSenderClass,
    masking: unmaskSource.includes('bufferUtil.')
      ? 'bufferutil (native) for 32+ B'
      : unmaskSource.includes('websocketUnmask')
      ? 'node:http websocketUnmask'
      : 'JavaScript byte loop',
    utf8: utf8Source.includes('isUtf8(')
      ? 'node:buffer isUtf8 (24+ B)'
      : utf8Source.includes('isValidUTF8(buf)')
      ? 'utf-8-validate (32+ B)'
      : 'JavaScript',
  };
}

/** Loads ws with and without its optional native addons. */
export function loadWs(): WsInstances {
  const packageJson = require.resolve('ws/package.json');
  const dir = dirname(packageJson);
  const version = (require(packageJson) as { version: string }).version;
  const addons = [addonStatus('bufferutil'), addonStatus('utf-8-validate')];

  const saved = { buffer: process.env['WS_NO_BUFFER_UTIL'], utf8: process.env['WS_NO_UTF_8_VALIDATE'] };
  delete process.env['WS_NO_BUFFER_UTIL'];
  delete process.env['WS_NO_UTF_8_VALIDATE'];
  const withAddons = loadInstance(dir);

  for (const key of Object.keys(require.cache)) {
    if (key.startsWith(dir + sep)) delete require.cache[key];
  }
  process.env['WS_NO_BUFFER_UTIL'] = '1';
  process.env['WS_NO_UTF_8_VALIDATE'] = '1';
  const withoutAddons = loadInstance(dir);

  if (saved.buffer === undefined) delete process.env['WS_NO_BUFFER_UTIL'];
  else process.env['WS_NO_BUFFER_UTIL'] = saved.buffer;
  if (saved.utf8 === undefined) delete process.env['WS_NO_UTF_8_VALIDATE'];
  else process.env['WS_NO_UTF_8_VALIDATE'] = saved.utf8;

  if (withAddons.Receiver === withoutAddons.Receiver) throw new Error('ws was not loaded twice');
  return { version, withAddons, withoutAddons, addons };
}
