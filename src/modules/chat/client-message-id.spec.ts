import { idempotencyKeyHeader } from './client-message-id';

/** What `fn` threw (undefined when it returned): jest's toThrow takes no asymmetric matcher in its types. */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('the Idempotency-Key header', () => {
  it('takes a bare token or a Structured Field string, and nothing when absent', () => {
    expect(idempotencyKeyHeader(undefined)).toBeUndefined();
    expect(idempotencyKeyHeader('8e03978e-40d5-43e8-bc93-6894a57f9324')).toBe('8e03978e-40d5-43e8-bc93-6894a57f9324');
    expect(idempotencyKeyHeader('"8e03978e-40d5"')).toBe('8e03978e-40d5');
  });

  it('refuses an empty, long, spaced, non-ASCII or repeated key with a bad_request naming the header', () => {
    for (const bad of ['', '""', 'a b', 'x'.repeat(65), 'ключ', '"open', ['a', 'b']]) {
      expect(thrownBy(() => idempotencyKeyHeader(bad))).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/Idempotency-Key/) });
    }
  });
});
