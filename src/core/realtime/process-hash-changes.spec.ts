import type { Command } from 'ioredis';
import type { RedisClient } from '../redis/redis.factory';
import { ProcessHashChanges } from './process-hash-changes';
import { changesRecorder } from './process-hash-changes.spec-helper';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('ProcessHashChanges', () => {
  it('sends the changes of one turn as one script call at setImmediate, the last change of a field winning', async () => {
    const { redis, calls } = changesRecorder();
    const changes = new ProcessHashChanges(redis, 'proc', () => undefined);
    changes.increment('total', -1);
    changes.increment('ip:a', -1);
    changes.increment('total', -1);
    changes.increment('ip:b', -1);
    changes.set('u:1');
    changes.delete('u:2');
    changes.delete('u:3');
    changes.set('u:3'); // left and came back in the same turn: stays online
    expect(calls).toEqual([]);
    await nextTurn();
    expect(calls).toEqual([
      {
        incr: [
          ['total', -2],
          ['ip:a', -1],
          ['ip:b', -1],
        ],
        set: ['u:1', 'u:3'],
        del: ['u:2'],
      },
    ]);
    await nextTurn();
    expect(calls).toHaveLength(1);
  });

  it('sends pending changes at once on flush, and nothing for counters that cancel out', async () => {
    const { redis, calls } = changesRecorder();
    const changes = new ProcessHashChanges(redis, 'proc', () => undefined);
    changes.increment('total', -1);
    changes.flush();
    expect(calls).toEqual([{ incr: [['total', -1]], set: [], del: [] }]);
    changes.increment('total', 1);
    changes.increment('total', -1);
    await nextTurn();
    expect(calls).toHaveLength(1);
  });

  it('splits a large turn into script calls of at most 500 fields, counters in the first', async () => {
    const { redis, calls } = changesRecorder();
    const changes = new ProcessHashChanges(redis, 'proc', () => undefined);
    for (let i = 0; i < 300; i++) changes.increment(`ip:${i}`, -1);
    for (let i = 0; i < 800; i++) changes.delete(`u:${i}`);
    changes.flush();
    expect(calls.map((c) => c.incr.length + c.set.length + c.del.length)).toEqual([500, 500, 100]);
    expect(calls[0].incr).toHaveLength(300);
    expect(calls.flatMap((c) => c.del)).toEqual(Array.from({ length: 800 }, (_, i) => `u:${i}`));
  });

  it('writes a turn of presence alone with a plain HSET or HDEL', async () => {
    const sent: string[] = [];
    const redis = { sendCommand: (c: Command) => (sent.push(`${c.name} ${c.args.join(' ')}`), c.resolve(1), c.promise) } as unknown as RedisClient;
    const changes = new ProcessHashChanges(redis, 'proc', () => undefined);
    changes.set('u:1');
    changes.set('u:2');
    changes.flush();
    changes.delete('u:1');
    changes.flush();
    expect(sent).toEqual(['hset proc u:1 1 u:2 1', 'hdel proc u:1']);
  });

  it('reports a failed write, and sends nothing once closed', async () => {
    let failures = 0;
    const { redis, calls } = changesRecorder({ fail: () => true });
    const changes = new ProcessHashChanges(redis, 'proc', () => failures++);
    changes.delete('u:1');
    await nextTurn();
    await nextTurn();
    expect(failures).toBe(1);
    changes.increment('total', -1);
    changes.close();
    changes.delete('u:2');
    await nextTurn();
    changes.flush();
    expect(calls).toHaveLength(1);
  });
});
