import { BadRequestError } from '../../core/errors/domain-error';

/**
 * A client's idempotency key for one message: `clientMessageId` on message:send, the
 * `Idempotency-Key` header on POST /api/chat/rooms/:id/messages (one key space per sender, so a
 * message first sent over the socket can be resent over HTTP). A UUID, a ULID or any token of
 * these characters.
 */
export const CLIENT_MESSAGE_ID = /^[A-Za-z0-9._:+/=-]{1,64}$/;
export const MAX_CLIENT_MESSAGE_ID_LENGTH = 64;

/**
 * The `Idempotency-Key` header's value (undefined when absent). The IETF draft
 * (draft-ietf-httpapi-idempotency-key-header) makes it a Structured Field string, `"…"`;
 * most clients (Stripe's style) send the bare token: both are accepted.
 */
export function idempotencyKeyHeader(raw: string | string[] | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (Array.isArray(raw)) throw new BadRequestError('Idempotency-Key must be sent once');
  const value = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
  if (!CLIENT_MESSAGE_ID.test(value)) {
    throw new BadRequestError(`Idempotency-Key must be 1 to ${MAX_CLIENT_MESSAGE_ID_LENGTH} characters of A-Z a-z 0-9 . _ : + / = -`);
  }
  return value;
}
