/**
 * The parts of the npm `ws` package that the permessage-deflate interoperability tests drive: its own
 * PerMessageDeflate and header parser. They are implementation files that ws's `exports` map hides, so
 * they are loaded by path; @types/ws does not describe them, hence the types below.
 */

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

type Params = Record<string, string | number | boolean>;
type Callback = (error: Error | null, data?: Buffer) => void;

/** ws's options for its PerMessageDeflate. */
export interface WsDeflateOptions {
  isServer?: boolean;
  serverNoContextTakeover?: boolean;
  clientNoContextTakeover?: boolean;
  serverMaxWindowBits?: number | boolean;
  clientMaxWindowBits?: number | boolean;
  threshold?: number;
  maxPayload?: number;
}

/** ws's PerMessageDeflate (lib/permessage-deflate.js). */
export interface WsPerMessageDeflate {
  params: Params | null;
  offer(): Params;
  accept(configurations: Array<Record<string, Array<string | true>>>): Params;
  compress(data: Buffer, fin: boolean, callback: Callback): void;
  decompress(data: Buffer, fin: boolean, callback: Callback): void;
  cleanup(): void;
}

const require = createRequire(import.meta.url);
const lib = join(dirname(require.resolve('ws/package.json')), 'lib');

/** ws's PerMessageDeflate class. */
export const WsPerMessageDeflate = require(join(lib, 'permessage-deflate.js')) as new (
  options?: WsDeflateOptions,
) => WsPerMessageDeflate;

/** ws's Sec-WebSocket-Extensions parser and formatter (lib/extension.js). */
export const wsExtension = require(join(lib, 'extension.js')) as {
  parse(header: string): Record<string, Array<Record<string, Array<string | true>>>>;
  format(extensions: Record<string, unknown>): string;
};
