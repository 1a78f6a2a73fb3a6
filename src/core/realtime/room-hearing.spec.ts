import type { RedisClient } from '../redis/redis.factory';
import { HEARING_WINDOW_MS, HeardRooms, hearingKey, hearingRoomOf } from './room-hearing';

/** A Redis whose MGET answers when the test says so, from the marks the test sets. */
function fakeRedis() {
  const marks = new Map<string, string>();
  const pending: Array<{ keys: string[]; resolve: (v: (string | null)[]) => void; reject: (e: Error) => void }> = [];
  const redis = {
    mget: (...keys: string[]) => new Promise<(string | null)[]>((resolve, reject) => pending.push({ keys, resolve, reject })),
  } as unknown as RedisClient;
  const answer = async () => {
    for (const p of pending.splice(0)) p.resolve(p.keys.map((k) => marks.get(k) ?? null));
    await Promise.resolve();
  };
  const fail = async () => {
    for (const p of pending.splice(0)) p.reject(new Error('Connection is closed.'));
    await Promise.resolve();
  };
  return { redis, marks, pending, answer, fail };
}

describe('room hearing (QUEUE_JOB_EVENTS=heard)', () => {
  it("maps a queue's room and its jobs' rooms to the queue's room, and nothing else", () => {
    expect(['queue:high', 'job:high:42', 'job:default:7', 'user:3', 'project:1', 'broadcast', 'job:x'].map(hearingRoomOf)).toEqual([
      'queue:high',
      'queue:high',
      'queue:default',
      null,
      null,
      null,
      null,
    ]);
  });

  it('a worker counts a queue heard until it has read its mark, then as the mark says, and heard again once its read is older than the window', async () => {
    const { redis, marks, pending, answer } = fakeRedis();
    let now = 1000;
    const heard = new HeardRooms(redis, 'sb:', () => now);
    expect(heard.isHeard('queue:default')).toBe(true); // nothing read yet
    expect(pending.map((p) => p.keys)).toEqual([['sb:{heard}:queue:default']]);
    await answer();
    expect(heard.isHeard('queue:default')).toBe(false);
    marks.set(hearingKey('sb:', 'queue:default'), '123:1');
    now += 50;
    expect(heard.isHeard('queue:default')).toBe(false); // not read again yet: 50 ms
    expect(pending).toHaveLength(0);
    now += 60;
    expect(heard.isHeard('queue:default')).toBe(false); // a read started, not answered
    expect(pending).toHaveLength(1);
    await answer();
    expect(heard.isHeard('queue:default')).toBe(true);
  });

  it('a worker whose reads stop being answered announces again once what it read is older than the window', async () => {
    const { redis, pending, answer, fail } = fakeRedis();
    let now = 0;
    const heard = new HeardRooms(redis, 'sb:', () => now);
    heard.isHeard('queue:default');
    await answer();
    now = 150;
    expect(heard.isHeard('queue:default')).toBe(false);
    await fail();
    now = 300;
    expect(heard.isHeard('queue:default')).toBe(false); // read at 0: still inside the window
    now = HEARING_WINDOW_MS;
    expect(heard.isHeard('queue:default')).toBe(true);
    expect(pending.length).toBeLessThanOrEqual(1);
  });

  it('a queue asked about for the first time is read at once, with the others, and is heard until then', async () => {
    const { redis, pending, answer } = fakeRedis();
    const heard = new HeardRooms(redis, 'sb:', () => 0);
    heard.isHeard('queue:default');
    await answer();
    expect(heard.isHeard('queue:high')).toBe(true);
    expect(pending.map((p) => p.keys)).toEqual([['sb:{heard}:queue:default', 'sb:{heard}:queue:high']]);
    await answer();
    expect([heard.isHeard('queue:default'), heard.isHeard('queue:high')]).toEqual([false, false]);
  });
});
