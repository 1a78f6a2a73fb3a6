import type { SessionData } from 'express-session';
import type { BatchedReads } from '../redis/batched-reads';
import type { RedisClient } from '../redis/redis.factory';
import { CookieRefresh, ThrottledTouchRedisStore } from './session.middleware';

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

describe('CookieRefresh', () => {
  it('finds the session cookie among others, and nothing without one', () => {
    expect(CookieRefresh.valueIn('a=1; switchboard.sid=s%3A7.abc.sig; b=2')).toBe('s%3A7.abc.sig');
    expect(CookieRefresh.valueIn('switchboard.sid=s%3Axyz')).toBe('s%3Axyz');
    expect(CookieRefresh.valueIn('xswitchboard.sid=1; switchboardXsid=2')).toBeUndefined();
    expect(CookieRefresh.valueIn(undefined)).toBeUndefined();
  });

  it('sends a cookie again once a minute per process, not on every response', () => {
    const r = new CookieRefresh(60_000);
    expect(r.due('a', 1_000)).toBe(true);
    expect(r.due('a', 1_001)).toBe(false);
    expect(r.due('b', 1_002)).toBe(true);
    expect(r.due('a', 60_999)).toBe(false);
    expect(r.due('a', 61_000)).toBe(true);
    expect(r.due('a', 62_000)).toBe(false);
  });

  it('forgets everything when full, so a cookie is sent again early rather than never', () => {
    const r = new CookieRefresh(60_000, 2);
    expect(r.due('a', 0)).toBe(true);
    expect(r.due('b', 0)).toBe(true);
    expect(r.due('c', 1)).toBe(true); // full: cleared, then c remembered
    expect(r.due('a', 2)).toBe(true);
    expect(r.due('c', 3)).toBe(false);
  });
});
