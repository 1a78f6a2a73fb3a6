import type { MessageMappingProperties } from '@nestjs/websockets';
import { DomainError } from '../errors/domain-error';
import { assertInputBounds, MAX_INPUT_DEPTH } from '../errors/input-bounds';

/** The part of a socket this needs (Nest's and socket.io's socket types differ by copy). */
interface ClientSocket {
  onAny(listener: (...args: unknown[]) => void): unknown;
}

type Ack = (response: unknown) => void;
type AnyListener = (this: ClientSocket, event: unknown, ...args: unknown[]) => void;

/** One catch-all listener per gateway, shared by its sockets (socket.io calls it with the socket as `this`). */
const unknownListeners = new WeakMap<MessageMappingProperties[], AnyListener>();

/**
 * Every client event gets an acknowledgement (SPEC §5): one no gateway
 * handles is answered `unknown_event`, so a client learns of a typo or an
 * old event name instead of waiting for its ack timeout.
 */
export function guardClientEvents(socket: ClientSocket, handlers: MessageMappingProperties[]): void {
  let listener = unknownListeners.get(handlers);
  if (!listener) {
    const known = new Set(handlers.map((h) => h.message as string));
    listener = function (event, ...args) {
      if (typeof event === 'string' && known.has(event)) return;
      const ack = args[args.length - 1];
      if (typeof ack === 'function') {
        (ack as Ack)({ ok: false, error: 'unknown_event', message: `Unknown event ${JSON.stringify(String(event).slice(0, 100))}` });
      }
    };
    unknownListeners.set(handlers, listener);
  }
  socket.onAny(listener);
}

/**
 * A payload past the input bounds (depth, element count) is answered before
 * any handler runs: the DTO pipe's class-transformer would recurse through it
 * and visit every element. `true` when it was refused.
 */
export function refusedOutOfBounds(args: unknown[]): boolean {
  const ack = args[args.length - 1];
  const data = typeof ack === 'function' ? args.slice(0, -1) : args;
  try {
    // One level more for the argument list itself.
    assertInputBounds(data, 'Payload', MAX_INPUT_DEPTH + 1);
    return false;
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    // Sockets have one code for every malformed payload (SPEC §5), too large included.
    if (typeof ack === 'function') (ack as Ack)({ ok: false, error: 'bad_request', message: err.message });
    return true;
  }
}
