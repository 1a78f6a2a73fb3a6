import { EventEmitter } from 'node:events';
import type { RedisClient } from './redis.factory';
import { BatchedConfirmation, parseReplicationInfo, ReplicaConfirmation, ReplicaConfirmationError, ReplicaHighWater, WriteMark } from './replica-confirmation';

const primaryInfo = (replId: string, states: string[]) =>
  [
    '# Replication',
    'role:master',
    `connected_slaves:${states.length}`,
    ...states.map((state, i) => `slave${i}:ip=127.0.0.1,port=${7000 + i},state=${state},offset=123,lag=0`),
    `master_replid:${replId}`,
    'master_replid2:0000000000000000000000000000000000000000',
    'master_repl_offset:123',
    '',
  ].join('\r\n');

describe('parseReplicationInfo', () => {
  it('counts only the replicas that are online (a replica in full sync cannot acknowledge a WAIT)', () => {
    expect(parseReplicationInfo(primaryInfo('abc', ['online', 'wait_bgsave', 'online']))).toEqual({ replId: 'abc', onlineReplicas: 2 });
    expect(parseReplicationInfo(primaryInfo('abc', []))).toEqual({ replId: 'abc', onlineReplicas: 0 });
  });

  it('says nothing for a connection that is not on a primary (a demoted one answers as a replica)', () => {
    expect(parseReplicationInfo('# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nmaster_replid:abc\r\n')).toBeNull();
    expect(parseReplicationInfo('')).toBeNull();
  });
});

describe('ReplicaHighWater', () => {
  it('waits for every replica seen online on this primary within the memory, and at least the minimum', () => {
    const hw = new ReplicaHighWater(1, 10000);
    hw.record({ replId: 'p', onlineReplicas: 2 }, 0);
    // SENTINEL FAILOVER promoted one replica: the old primary now shows one, which would still acknowledge.
    hw.record({ replId: 'p', onlineReplicas: 1 }, 1000);
    expect(hw.required('p', 1500)).toBe(2);
    // A replica that really left is forgotten after the memory.
    hw.record({ replId: 'p', onlineReplicas: 1 }, 11500);
    expect(hw.required('p', 11500)).toBe(1);
    hw.record({ replId: 'p', onlineReplicas: 0 }, 22000);
    expect(hw.required('p', 22000)).toBe(1);
  });

  it('starts afresh on a new primary (another replication id): the old primary’s replicas are not its own', () => {
    const hw = new ReplicaHighWater(0, 10000);
    hw.record({ replId: 'old', onlineReplicas: 2 }, 0);
    hw.record({ replId: 'new', onlineReplicas: 1 }, 500);
    expect(hw.required('new', 600)).toBe(1);
    expect(hw.required('old', 600)).toBeNull();
    expect(hw.latest()).toEqual({ at: 500, sample: { replId: 'new', onlineReplicas: 1 } });
  });

  it('forgets a replica exactly when its sample leaves the memory, however often it is asked', () => {
    const hw = new ReplicaHighWater(0, 10000);
    hw.record({ replId: 'p', onlineReplicas: 2 }, 0);
    hw.record({ replId: 'p', onlineReplicas: 1 }, 4000);
    for (const at of [4000, 6000, 10000]) expect(hw.required('p', at)).toBe(2);
    expect(hw.required('p', 10001)).toBe(1);
    expect(hw.required('other', 10001)).toBeNull();
    expect(hw.required('p', 14000)).toBe(1);
    expect(hw.required('p', 14001)).toBeNull();
    // A clock that went back is answered afresh, not from the later answer.
    expect(hw.required('p', 5000)).toBe(2);
    hw.record({ replId: 'p', onlineReplicas: 3 }, 5001);
    expect(hw.required('p', 5001)).toBe(3);
  });

  it('asks for nothing on a primary without replicas when the minimum is 0 (one Redis)', () => {
    const hw = new ReplicaHighWater(0, 10000);
    hw.record({ replId: 'single', onlineReplicas: 0 }, 0);
    expect(hw.required('single', 100)).toBe(0);
  });
});

describe('ReplicaConfirmation (at its seam: a fake connection answering INFO and WAIT)', () => {
  class FakeConnection extends EventEmitter {
    online = 2;
    replId = 'p';
    acks = 2;
    waits: unknown[][] = [];
    /** Emitted while a WAIT is outstanding: a failover moving the connection. */
    reconnectDuringWait = false;
    call(cmd: string, ...args: unknown[]): Promise<unknown> {
      if (cmd === 'INFO') return Promise.resolve(primaryInfo(this.replId, Array.from({ length: this.online }, () => 'online')));
      if (cmd === 'WAIT') {
        this.waits.push(args);
        if (this.reconnectDuringWait) this.emit('ready');
        return Promise.resolve(this.acks);
      }
      return Promise.reject(new Error(`unexpected ${cmd}`));
    }
  }
  const make = (fake: FakeConnection, minReplicas = 1) =>
    new ReplicaConfirmation(fake as unknown as RedisClient, { minReplicas, timeoutMs: 500, slotKey: 'sb:{bull}:x' });

  it('waits for every replica seen online and resolves when they confirm', async () => {
    const fake = new FakeConnection();
    const c = make(fake);
    await expect(c.confirm(await c.mark())).resolves.toEqual({ required: 2, confirmed: 2 });
    expect(fake.waits).toEqual([[2, 500]]);
  });

  it('rejects when fewer replicas confirm within the timeout', async () => {
    const fake = new FakeConnection();
    fake.acks = 1;
    const c = make(fake);
    await expect(c.confirm(await c.mark())).rejects.toBeInstanceOf(ReplicaConfirmationError);
  });

  it('rejects when the connection was replaced between the write and the WAIT (the WAIT would count nothing)', async () => {
    const fake = new FakeConnection();
    const c = make(fake);
    const mark = await c.mark();
    fake.emit('ready'); // ioredis reconnected (a failover moved it)
    await expect(c.confirm(mark)).rejects.toThrow(/connection changed/);
    expect(fake.waits).toEqual([]);
  });

  it('rejects a WAIT answered on a connection made while it was outstanding', async () => {
    const fake = new FakeConnection();
    fake.reconnectDuringWait = true;
    const c = make(fake);
    await expect(c.confirm(await c.mark())).rejects.toThrow(/connection changed/);
  });

  it('knows the replicas are missing only when fewer than the minimum are online (not while a failover leaves them lagging)', async () => {
    const fake = new FakeConnection();
    const c = make(fake);
    c.start();
    await new Promise((r) => setImmediate(r));
    expect(c.replicasMissing()).toBe(false);
    c.stop();
    fake.online = 0;
    const d = make(fake);
    d.start();
    await new Promise((r) => setImmediate(r));
    expect(d.replicasMissing()).toBe(true);
    d.stop();
  });

  it('says once per primary that writes stand on it alone, only after its replicas have been gone for the memory (minimum 0: a Cluster master whose replica died)', async () => {
    const fake = new FakeConnection();
    fake.online = 1;
    let t = 0;
    const warned: string[] = [];
    const c = new ReplicaConfirmation(fake as unknown as RedisClient, { minReplicas: 0, timeoutMs: 500, slotKey: 'sb:{bull}:x', onNoReplica: (id) => warned.push(id) }, () => t);
    const sampleAt = async (at: number) => {
      t = at;
      c.start();
      await new Promise((r) => setImmediate(r));
      c.stop();
    };
    await sampleAt(0);
    fake.online = 0;
    await sampleAt(5000); // the replica seen 5 s ago is still waited for: no warning, writes are refused
    expect(warned).toEqual([]);
    expect(c.requiredNow()).toBe(1);
    await sampleAt(11000);
    await sampleAt(12000);
    expect(warned).toEqual(['p']);
    expect(c.requiredNow()).toBe(0);
    fake.replId = 'q'; // promoted replica, no replica of its own yet
    await sampleAt(13000);
    expect(warned).toEqual(['p', 'q']);
  });

  it('does not wait at all on a Redis without replicas when none is required', async () => {
    const fake = new FakeConnection();
    fake.online = 0;
    const c = make(fake, 0);
    await expect(c.confirm(await c.mark())).resolves.toEqual({ required: 0, confirmed: 0 });
    expect(fake.waits).toEqual([]);
  });
});

describe('BatchedConfirmation', () => {
  const node = {} as unknown as WriteMark['node'];
  const fakeConfirmation = () => {
    const calls: WriteMark[] = [];
    let answer: () => Promise<{ required: number; confirmed: number }> = () => Promise.resolve({ required: 2, confirmed: 2 });
    return {
      calls,
      answer: (fn: typeof answer) => (answer = fn),
      mark: () => Promise.resolve({ node, generation: 0 }),
      confirm: (mark: WriteMark) => {
        calls.push(mark);
        return answer();
      },
    };
  };

  it('sends one WAIT for every completion of a loop turn, after all of them', async () => {
    const fake = fakeConfirmation();
    const batched = new BatchedConfirmation(fake);
    await Promise.all(Array.from({ length: 50 }, () => batched.confirm({ node, generation: 0 })));
    expect(fake.calls).toHaveLength(1);
    await batched.confirm({ node, generation: 0 }); // a later turn: a WAIT of its own
    expect(fake.calls).toHaveLength(2);
  });

  it('fails every writer of the turn when the replicas do not confirm', async () => {
    const fake = fakeConfirmation();
    fake.answer(() => Promise.reject(new ReplicaConfirmationError(2, 1)));
    const batched = new BatchedConfirmation(fake);
    const outcomes = await Promise.allSettled([batched.confirm({ node, generation: 0 }), batched.confirm({ node, generation: 0 })]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
  });

  it('does not count a write marked on an earlier connection (a failover replaced it) as confirmed', async () => {
    const fake = fakeConfirmation();
    const batched = new BatchedConfirmation(fake);
    const [fresh, stale] = await Promise.allSettled([batched.confirm({ node, generation: 1 }), batched.confirm({ node, generation: 0 })]);
    expect(fresh.status).toBe('fulfilled');
    expect(stale).toMatchObject({ status: 'rejected', reason: { code: 'moved' } });
  });
});
