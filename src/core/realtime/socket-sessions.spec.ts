import type { RedisClient } from '../redis/redis.factory';
import { SocketSessionStore, StoredSession } from './socket-sessions';

/** SET and EVAL (the batch script's SETs), in the order the store sends them. */
function fakeRedis(): { redis: RedisClient; values: Map<string, string>; writes: string[] } {
  const values = new Map<string, string>();
  const writes: string[] = [];
  const redis = {
    set: (key: string, value: string) => {
      writes.push(`SET ${key}`);
      values.set(key, value);
      return Promise.resolve('OK');
    },
    eval: (_script: string, n: number, ...args: (string | number)[]) => {
      const keys = args.slice(0, n) as string[];
      const vals = args.slice(n + 1) as string[];
      keys.forEach((k, i) => {
        writes.push(`EVAL-SET ${k}`);
        values.set(k, vals[i]);
      });
      return Promise.resolve(n);
    },
  };
  return { redis: redis as unknown as RedisClient, values, writes };
}

const session = (rooms: string[]): StoredSession => ({ sid: 's1', pid: 'p1', nsp: '/chat', userId: 7, rooms });

describe('SocketSessionStore', () => {
  it('keeps a room joined right after connecting: the join is not overwritten by the batched first save', async () => {
    const { redis, values } = fakeRedis();
    const store = new SocketSessionStore(redis, 'sb:', 60000);
    const first = store.saveSoon(session([])); // the connection handler's save, batched
    await store.save(session(['chat:1'])); // room:join a few ms later, before the batch went out
    await first;
    expect(JSON.parse(values.get('sb:rt:sess:p1') as string).rooms).toEqual(['chat:1']);
  });

  it('writes a key saved twice in one batch once, with its last value', async () => {
    const { redis, values, writes } = fakeRedis();
    const store = new SocketSessionStore(redis, 'sb:', 60000);
    const a = store.saveSoon(session([]));
    const b = store.saveSoon({ ...session(['chat:2']), pid: 'p2' });
    const c = store.saveSoon(session(['chat:1']));
    await Promise.all([a, b, c]);
    expect(writes).toEqual(['EVAL-SET sb:rt:sess:p1', 'EVAL-SET sb:rt:sess:p2']);
    expect(JSON.parse(values.get('sb:rt:sess:p1') as string).rooms).toEqual(['chat:1']);
  });

  it('saves at once when no batch is pending', async () => {
    const { redis, writes } = fakeRedis();
    const store = new SocketSessionStore(redis, 'sb:', 60000);
    await store.save(session(['chat:1']));
    expect(writes).toEqual(['SET sb:rt:sess:p1']);
  });
  it('consumes a session in one read-and-delete, and gives each recovery under way the rooms handed to it meanwhile', async () => {
    const values = new Map<string, string>([['sb:rt:sess:p1', JSON.stringify(session(['chat:1']))]]);
    const redis = {
      getdel: async (key: string) => {
        const v = values.get(key) ?? null;
        values.delete(key);
        return v;
      },
    } as unknown as RedisClient;
    const store = new SocketSessionStore(redis, 'sb:', 60000);
    expect(store.handToClaim('s1', 'chat:2')).toBe(false); // no recovery under way
    const a = store.openClaim('s1');
    const b = store.openClaim('s1');
    expect(store.handToClaim('s1', 'chat:2')).toBe(true);
    store.handToClaim('s1', 'chat:2');
    a.close();
    store.handToClaim('s1', 'chat:3'); // only b is still under way
    expect([a.rooms, b.rooms]).toEqual([['chat:2'], ['chat:2', 'chat:3']]);
    b.close();
    expect(store.handToClaim('s1', 'chat:4')).toBe(false);
    expect((await store.claim('p1'))?.rooms).toEqual(['chat:1']);
    expect(await store.claim('p1')).toBeNull(); // consumed
  });
});
