import type { SessionData } from 'express-session';
import type { BatchedReads } from '../redis/batched-reads';
import type { RedisClient } from '../redis/redis.factory';
import { ThrottledTouchRedisStore } from './session.middleware';

describe('ThrottledTouchRedisStore', () => {
  const sess = { cookie: { originalMaxAge: 7200_000, expires: new Date(Date.now() + 7200_000) } } as unknown as SessionData;

  function store() {
    const expires: string[] = [];
    const client = {
      expire: (key: string) => {
        expires.push(key);
        return Promise.resolve(1);
      },
      del: () => Promise.resolve(1),
    };
    const reads = { get: () => Promise.resolve(null) } as unknown as BatchedReads;
    return { expires, s: new ThrottledTouchRedisStore({ client: client as unknown as RedisClient, reads, prefix: 'p:', ttl: 7200 }) };
  }

  it('refreshes a session TTL once a minute per process, not on every request', async () => {
    const { expires, s } = store();
    await s.touch('a', sess);
    await s.touch('a', sess);
    await s.touch('b', sess);
    expect(expires).toEqual(['p:a', 'p:b']);
  });

  it("refreshes the user's list of sessions with the session, so logout-all outlives every session in it", async () => {
    const expires: [string, number][] = [];
    const client = {
      expire: (key: string, seconds: number) => (expires.push([key, seconds]), Promise.resolve(1)),
      del: () => Promise.resolve(1),
    };
    const reads = { get: () => Promise.resolve(null) } as unknown as BatchedReads;
    const s = new ThrottledTouchRedisStore({ client: client as unknown as RedisClient, reads, prefix: 'p:', ttl: 7200, userIndexKey: (id) => `list:${id}` });
    await s.touch('a', { ...sess, userId: 9 });
    await s.touch('b', sess); // not signed in: no list
    expect(expires).toEqual([
      ['list:9', 7200],
      ['p:a', 7200],
      ['p:b', 7200],
    ]);
  });

  it('touches again after the session was destroyed', async () => {
    const { expires, s } = store();
    await s.touch('a', sess);
    await s.destroy('a');
    await s.touch('a', sess);
    expect(expires).toEqual(['p:a', 'p:a']);
  });
});
