/**
 * @module
 * `@sansws/testing`: test WebSocket code with sansws.
 *
 * - fast-check arbitraries: valid {@link messages} and {@link traffic} as frames (every opcode, size class,
 *   fragmentation, interleaved control frames, compression), {@link invalidFrames} with the close code a
 *   correct peer answers, {@link handshakeRequests} / {@link badHandshakeRequests},
 *   {@link handshakeResponses} / {@link badHandshakeResponses}, {@link chunkings} of a byte stream,
 *   {@link closeCodes}, {@link invalidCloseCodes} and {@link closeReasons};
 * - an independent frame writer and reader ({@link encodeFrame}, {@link FrameReader}) whose frames print as
 *   one readable line each ({@link describeFrame});
 * - {@link pipe}: a client and a server `Conn` connected in memory on a {@link VirtualClock}, and the
 *   {@link MemoryTransport} pair under it.
 *
 * The fuzz runner for real servers is in `@sansws/testing/fuzz` (and the `sansws-fuzz` command). This entry
 * point is runtime-neutral: it imports no `node:` module.
 */

export { acceptKey } from './accept.ts';
export {
  badHandshakeRequests,
  badHandshakeResponses,
  chunkings,
  closeCodes,
  closeReasons,
  handshakeRequests,
  handshakeResponses,
  INVALID_KINDS,
  invalidCloseCodes,
  invalidFrames,
  messages,
  payloadSizes,
  SIZE_CLASSES,
  traffic,
  validFrames,
} from './arbitraries.ts';
export type {
  GeneratedMessage,
  GeneratedRequest,
  GeneratedResponse,
  Header,
  InvalidCase,
  InvalidKind,
  InvalidOptions,
  MessageOptions,
  MessageType,
  RequestMutation,
  RequestOptions,
  ResponseMutation,
  ResponseOptions,
  Traffic,
} from './arbitraries.ts';
export { deflateMessage } from './deflate.ts';
export type { DeflateMethod } from './deflate.ts';
export {
  closePayload,
  decodeFrames,
  describeBytes,
  describeFrame,
  describeFrames,
  encodeFrame,
  encodeFrames,
  frame,
  FrameReader,
  Opcode,
} from './frames.ts';
export type { DecodedFrame, Frame, FrameInit } from './frames.ts';
export { MemoryTransport, settle, VirtualClock } from './memory.ts';
export { pipe } from './pipe.ts';
export type { Pipe, PipeOptions } from './pipe.ts';
