import type { RedisClient } from '../redis/redis.factory';
import { EventLog, publishCall } from './event-log';

type Entry = [string, string[]];

/** The Redis reads and the publish script as EventLog uses them, over maps (no server). */
function fakeRedis() {
  const strings = new Map<string, string>();
  const hashes = new Map<string, Record<string, string>>();
  const streams = new Map<string, Entry[]>();
  /** The keys of each publish script call. */
  const published: string[][] = [];
  let nextId = 100;
  const pipeline = () => {
    const ops: (() => unknown)[] = [];
    const p = {
      get: (k: string) => (ops.push(() => strings.get(k) ?? null), p),
      hget: (k: string, f: string) => (ops.push(() => hashes.get(k)?.[f] ?? null), p),
      xrange: (k: string, start: string, _end: string, _c: string, count: number) => (
        ops.push(() => (streams.get(k) ?? []).filter(([id]) => Number(id.split('-')[0]) > Number(start.slice(1).split('-')[0])).slice(0, count)), p
      ),
      exec: async () => ops.map((op) => [null, op()]),
    };
    return p;
  };
  const redis = {
    defineCommand: () => undefined,
    get: async (k: string) => strings.get(k) ?? null,
    pipeline,
    rtPublishMany: async (numKeys: number, ...args: (string | number)[]) => {
      published.push(args.slice(0, numKeys).map(String));
      return Array.from({ length: Number(args[numKeys + 4]) }, () => String(nextId++));
    },
  } as unknown as RedisClient;
  return { redis, strings, hashes, streams, published };
}

const body = (rooms: string[]) => ['e', JSON.stringify({ eventType: 'x', timestamp: 'now', payload: {}, target: 'all', rooms })];

/** Two shards; room chat:1 has events 1..3 in shard 0 and 1..2 in shard 1; newest ids 3 and 2. */
function twoShards() {
  const f = fakeRedis();
  const log = new EventLog(f.redis, { prefix: 'sb:', historyPerRoom: 100, historyTtlMs: 60000, shards: 2 });
  const room = 'chat:1';
  f.streams.set(log.streamKey(room, 0), [1, 2, 3].map((id) => [`${id}-0`, body([room])]));
  f.streams.set(log.streamKey(room, 1), [1, 2].map((id) => [`${id}-0`, body([room])]));
  f.strings.set(log.shards[0].seqKey, '3');
  f.strings.set(log.shards[1].seqKey, '2');
  return { ...f, log, room };
}

describe('EventLog with several shards', () => {
  it('replays shard by shard after each component, every event with the position a client holds after it', async () => {
    const { log, room } = twoShards();
    const read = await log.readAfter([room], '1.1');
    expect(read.gap).toBe(false);
    expect(read.events.map((e) => [e.shard, e.id, e.position])).toEqual([
      [0, 2, '2.1'],
      [0, 3, '3.1'],
      [1, 2, '3.2'],
    ]);
    expect((await log.readAfter([room], '3.2')).events).toEqual([]);
  });

  it('is a gap when any one shard no longer covers its component: trimmed, beyond its newest id, or before its epoch', async () => {
    const t = twoShards();
    t.strings.set(`${t.log.streamKey(t.room, 1)}:trimmed`, '1');
    expect((await t.log.readAfter([t.room], '3.0')).gap).toBe(true); // shard 1 trimmed past 0
    expect((await t.log.readAfter([t.room], '0.1')).gap).toBe(false); // shard 0 whole, shard 1 from after the trim
    expect((await t.log.readAfter([t.room], '4.2')).gap).toBe(true); // shard 0 never issued 4
    t.hashes.set(t.log.shards[1].epochKey, { start: '100' });
    t.strings.set(t.log.shards[1].seqKey, '102');
    expect((await t.log.readAfter([t.room], '3.5')).gap).toBe(true); // from before shard 1's epoch
  });

  it('cannot place a position of another shard layout: a gap, the client refetches', async () => {
    const { log, room } = twoShards();
    expect(await log.readAfter([room], '3')).toEqual({ events: [], gap: true });
    expect(await log.readAfter([room], '1.1.1')).toEqual({ events: [], gap: true });
  });

  it("appends an event to its first room's shard, a control event to every shard", async () => {
    const { log, published } = twoShards();
    const e = await log.append(['chat:1', 'user:2'], 'x', {}, 'all');
    expect(e.shard).toBe(log.shardOf('chat:1'));
    expect(published.map((keys) => keys[0])).toEqual([log.shards[e.shard ?? 0].seqKey]);
    await log.append([], 'control:test', {}, 'all');
    expect(published.slice(1).map((keys) => keys[0]).sort()).toEqual(log.shards.map((s) => s.seqKey).sort());
    // What a publisher reports: the least position that covers the event.
    expect(log.publishedId(e)).toBe(e.shard === 0 ? `${e.id}.0` : `0.${e.id}`);
  });

  it('reports the newest id of every shard as the position of a new socket', async () => {
    const { log } = twoShards();
    expect(await log.offsetForNewSocket()).toBe('3.2');
    expect(log.format(await log.currentPosition())).toBe('3.2');
  });
});

describe('EventLog with one shard', () => {
  it('is the {rt} log of before: plain ids, plain positions', async () => {
    const f = fakeRedis();
    const log = new EventLog(f.redis, { prefix: 'sb:', historyPerRoom: 100, historyTtlMs: 60000 });
    expect([log.channel, log.seqKey, log.streamKey('chat:1')]).toEqual(['sb:{rt}:events', 'sb:{rt}:seq', 'sb:{rt}:room:chat:1']);
    f.streams.set(log.streamKey('chat:1'), [7, 8].map((id) => [`${id}-0`, body(['chat:1'])]));
    f.strings.set(log.seqKey, '8');
    const read = await log.readAfter(['chat:1'], '7');
    expect(read.events.map((e) => e.position)).toEqual(['8']);
    expect(await log.offsetForNewSocket()).toBe('8');
    expect(log.publishedId(await log.append(['chat:1'], 'x', {}, 'all'))).toBe('100');
  });
});

describe('publishCall (the publish script\'s KEYS and ARGV for a batch)', () => {
  const logKeys = ['seq', 'epoch', 'all'] as const;
  const head = [1000, 60000, 'channel', 50000, 3, 'PUBLISH'];

  it('lists each history stream once and gives every event its streams, each once, then its body', () => {
    const asked: string[] = [];
    const streamKey = (room: string) => (asked.push(room), `room:${room}`);
    const { keys, args } = publishCall(
      logKeys,
      head,
      [
        { rooms: ['job:default:1', 'queue:default', 'user:7'], body: 'b1' },
        { rooms: ['job:default:1', 'queue:default'], body: 'b2' },
        { rooms: ['chat:1'], body: 'b3' },
      ],
      streamKey,
    );
    // A job room's history is its queue's stream (historyRoomOf).
    expect(keys).toEqual(['seq', 'epoch', 'all', 'room:queue:default', 'room:user:7', 'room:chat:1']);
    expect(args).toEqual([...head, 2, 4, 5, 'b1', 1, 4, 'b2', 1, 6, 'b3']);
    // Asked once per distinct room of the batch.
    expect(asked).toEqual(['queue:default', 'queue:default', 'user:7', 'chat:1']);
  });

  it('sends an event without rooms (a control event) with no stream', () => {
    const { keys, args } = publishCall(logKeys, head, [{ rooms: [], body: 'c' }], (room) => room);
    expect(keys).toEqual(['seq', 'epoch', 'all']);
    expect(args).toEqual([...head, 0, 'c']);
  });
});

describe('EventLog.append', () => {
  it('stores each room once, in the order given, and resolves each event with its id in call order', async () => {
    const f = fakeRedis();
    const log = new EventLog(f.redis, { prefix: 'sb:', historyPerRoom: 100, historyTtlMs: 60000 });
    const [a, b] = await Promise.all([log.append(['chat:1', 'user:2', 'chat:1'], 'x', { n: 1 }, 'all'), log.append(['chat:1'], 'y', { n: 2 }, 'all')]);
    expect([a.id, a.rooms, a.eventType, a.payload]).toEqual([100, ['chat:1', 'user:2'], 'x', { n: 1 }]);
    expect([b.id, b.rooms, b.eventType]).toEqual([101, ['chat:1'], 'y']);
    expect(f.published).toEqual([['sb:{rt}:seq', 'sb:{rt}:epoch', 'sb:{rt}:all-events', 'sb:{rt}:room:chat:1', 'sb:{rt}:room:user:2']]);
  });
});
