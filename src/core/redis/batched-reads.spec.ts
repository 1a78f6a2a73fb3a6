import { BatchedReads } from './batched-reads';
import type { RedisClient } from './redis.factory';

function fakeRedis(values: Record<string, string>, fail = false) {
  const calls: string[][] = [];
  const redis = {
    mget: (...keys: string[]) => {
      calls.push(keys);
      return fail ? Promise.reject(new Error('Connection is closed.')) : Promise.resolve(keys.map((k) => values[k] ?? null));
    },
  } as unknown as RedisClient;
  return { redis, calls };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('BatchedReads', () => {
  it('sends the reads of one event-loop turn as one MGET and gives each caller its value', async () => {
    const { redis, calls } = fakeRedis({ a: '1', c: '3' });
    const reads = new BatchedReads(redis);
    const [a, b, c] = await Promise.all([reads.get('a'), reads.get('b'), Promise.resolve().then(() => reads.get('c'))]);
    expect([a, b, c]).toEqual(['1', null, '3']);
    expect(calls).toEqual([['a', 'b', 'c']]);
  });

  it('reads Redis again for a later turn (nothing is cached)', async () => {
    const values: Record<string, string> = { k: 'old' };
    const { redis, calls } = fakeRedis(values);
    const reads = new BatchedReads(redis);
    await expect(reads.get('k')).resolves.toBe('old');
    values.k = 'new';
    await nextTurn();
    await expect(reads.get('k')).resolves.toBe('new');
    expect(calls).toEqual([['k'], ['k']]);
  });

  it('rejects every caller of a batch when Redis fails', async () => {
    const { redis } = fakeRedis({}, true);
    const reads = new BatchedReads(redis);
    const results = await Promise.allSettled([reads.get('a'), reads.get('b')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('starts another MGET when a turn brings more than 256 keys', async () => {
    const { redis, calls } = fakeRedis({ k0: 'first', k299: 'last' });
    const reads = new BatchedReads(redis);
    const values = await Promise.all(Array.from({ length: 300 }, (_, i) => reads.get(`k${i}`)));
    expect(values[0]).toBe('first');
    expect(values[299]).toBe('last');
    expect(calls.map((c) => c.length)).toEqual([256, 44]);
  });

  it('reads key by key on Redis Cluster, where an MGET across slots would fail', async () => {
    const gets: string[] = [];
    const cluster = {
      isCluster: true,
      mget: () => Promise.reject(new Error("CROSSSLOT Keys in request don't hash to the same slot")),
      get: (key: string) => {
        gets.push(key);
        return Promise.resolve(key === 'a' ? '1' : null);
      },
    } as unknown as RedisClient;
    const reads = new BatchedReads(cluster);
    await expect(Promise.all([reads.get('a'), reads.get('b'), reads.get('a')])).resolves.toEqual(['1', null, '1']);
    expect(gets).toEqual(['a', 'b', 'a']);
  });
});
