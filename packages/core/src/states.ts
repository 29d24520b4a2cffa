/**
 * The connection state machine as data: every state, every transition and every command's legal states
 * live here, and nowhere else. docs/core.md draws its diagram from these tables (a test keeps them equal).
 *
 * ```
 * connecting ──accept / 101──▶ open ──close sent──▶ closing ──handshake done / timeout / EOF──▶ closed
 *     │                          │                                                            ▲
 *     └──refused / EOF / fail────┴───────────── close received (server) / EOF / fail ─────────┘
 * ```
 */

import { UsageError } from './errors.ts';

/** The state of a connection (RFC 6455 §4–§7). */
export type ConnectionState = 'connecting' | 'open' | 'closing' | 'closed';

/** Legal transitions: from → the states it may move to. */
export const TRANSITIONS: { readonly [S in ConnectionState]: readonly ConnectionState[] } = {
  // The opening handshake succeeds, or fails (refusal, bad response, EOF, abort).
  connecting: ['open', 'closed'],
  // A close frame is sent (by us, or echoing the peer's), or the connection fails or drops.
  open: ['closing', 'closed'],
  // The closing handshake completes, times out, or the transport drops.
  closing: ['closed'],
  closed: [],
};

/** Commands, named as they appear in error messages ("cannot send text while closing"). */
export type Command =
  | 'accept'
  | 'reject'
  | 'receive a request'
  | 'send text'
  | 'send binary'
  | 'start a message'
  | 'send a message chunk'
  | 'end a message'
  | 'send a ping'
  | 'send a pong'
  | 'close';

/** The states in which each command is legal. */
export const COMMAND_STATES: { readonly [C in Command]: readonly ConnectionState[] } = {
  'accept': ['connecting'],
  'reject': ['connecting'],
  'receive a request': ['connecting'],
  // RFC 6455 §5.5.1: after sending a close frame, an endpoint MUST NOT send any more data frames.
  'send text': ['open'],
  'send binary': ['open'],
  'start a message': ['open'],
  'send a message chunk': ['open'],
  'end a message': ['open'],
  'send a ping': ['open'],
  'send a pong': ['open'],
  // Closing again while closing or closed is a no-op, as users of every WebSocket API expect.
  'close': ['open', 'closing', 'closed'],
};

/** Throws a {@link UsageError} naming the command and the state when the command is not legal there. */
export function checkCommand(command: Command, state: ConnectionState): void {
  if (!COMMAND_STATES[command].includes(state)) {
    throw new UsageError('INVALID_STATE', `cannot ${command} while ${state}`);
  }
}

/** Checks an internal transition; a failure here is a bug in sansws, not in the caller or the peer. */
export function checkTransition(from: ConnectionState, to: ConnectionState): void {
  if (!TRANSITIONS[from].includes(to)) throw new Error(`sansws bug: illegal transition ${from} -> ${to}`);
}
