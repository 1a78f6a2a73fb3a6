import type { AppConfig } from '../../config/app-config';
import type { RedisClient } from '../../core/redis/redis.factory';
import { DELIVERY_GRACE_MS, DeliveryMarks, MARK_TTL_MS } from './delivery-marks';

/** The two commands DeliveryMarks uses, on a Map (TTL ignored: the spec's clock never reaches it). */
function fakeRedis(): { redis: RedisClient; keys: Map<string, string> } {
  const keys = new Map<string, string>();
  const redis = {
    set: (key: string, value: string, ...opts: unknown[]) => {
      if (opts.includes('NX') && keys.has(key)) return Promise.resolve(null);
      keys.set(key, value);
      return Promise.resolve('OK');
    },
    exists: (key: string) => Promise.resolve(keys.has(key) ? 1 : 0),
  };
  return { redis: redis as unknown as RedisClient, keys };
}

const config = { redis: { prefix: 'sb:' } } as unknown as AppConfig;

describe('DeliveryMarks (a resend delivers a stored message only if its first send never did)', () => {
  it('leaves a marked message alone', async () => {
    const { redis } = fakeRedis();
    const marks = new DeliveryMarks(redis, config);
    await marks.mark(7);
    expect(await marks.claimUndelivered(7, new Date(Date.now() - 10))).toBe(false);
  });

  it('lets exactly one resend take over a message left unmarked past the grace', async () => {
    const { redis, keys } = fakeRedis();
    const marks = new DeliveryMarks(redis, config);
    const stored = new Date(Date.now() - DELIVERY_GRACE_MS - 1);
    expect(await marks.claimUndelivered(8, stored)).toBe(true);
    expect(await marks.claimUndelivered(8, stored)).toBe(false);
    expect([...keys.keys()]).toEqual(['sb:{chat}:delivered:8']);
  });

  it('waits while the first send may still be publishing, and stands down when it marks the message', async () => {
    const { redis } = fakeRedis();
    const marks = new DeliveryMarks(redis, config);
    const claim = marks.claimUndelivered(9, new Date(Date.now() - 100));
    await new Promise((r) => setTimeout(r, 120));
    await marks.mark(9);
    expect(await claim).toBe(false);
  });

  it('takes over once the grace runs out with no mark', async () => {
    const { redis } = fakeRedis();
    const marks = new DeliveryMarks(redis, config);
    let clock = Date.now();
    const claim = marks.claimUndelivered(10, new Date(clock), () => (clock += 1000));
    expect(await claim).toBe(true);
  });

  it('does not deliver a message older than any mark lives', async () => {
    const { redis } = fakeRedis();
    const marks = new DeliveryMarks(redis, config);
    expect(await marks.claimUndelivered(11, new Date(Date.now() - MARK_TTL_MS))).toBe(false);
  });
});
