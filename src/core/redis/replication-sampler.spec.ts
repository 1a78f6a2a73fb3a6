import { EventEmitter } from 'node:events';
import type { RedisClient } from './redis.factory';
import { ReplicaConfirmation } from './replica-confirmation';
import { ReplicationSampler } from './replication-sampler';

/** A connection as ReplicaConfirmation sees it: its server (socket peer) and the INFO that server answers. */
class FakeConnection extends EventEmitter {
  status = 'ready';
  infos = 0;
  stream: { remoteAddress?: string; remotePort?: number };
  constructor(
    public server: { online: number; replId: string; port: number },
  ) {
    super();
    this.stream = { remoteAddress: '10.0.0.1', remotePort: server.port };
  }
  moveTo(server: { online: number; replId: string; port: number }): void {
    this.server = server;
    this.stream = { remoteAddress: '10.0.0.1', remotePort: server.port };
  }
  call(cmd: string): Promise<unknown> {
    if (cmd !== 'INFO') return Promise.reject(new Error(`unexpected ${cmd}`));
    this.infos++;
    const { online, replId } = this.server;
    const lines = ['# Replication', 'role:master', ...Array.from({ length: online }, (_, i) => `slave${i}:ip=10.0.0.2,port=${7000 + i},state=online,offset=1,lag=0`), `master_replid:${replId}`, ''];
    return Promise.resolve(lines.join('\r\n'));
  }
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

describe('ReplicationSampler', () => {
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] }));
  afterEach(() => jest.useRealTimers());

  const confirmation = (fake: FakeConnection, sampler: ReplicationSampler) =>
    new ReplicaConfirmation(fake as unknown as RedisClient, { minReplicas: 0, timeoutMs: 500, slotKey: 'sb:{bull}:x', sampler }, () => Date.now());

  it('sends one INFO per period for connections on the same server, and each of them waits for what it says', async () => {
    const primary = { online: 2, replId: 'p', port: 6379 };
    const sampler = new ReplicationSampler(1000);
    const fakes = [new FakeConnection(primary), new FakeConnection(primary), new FakeConnection(primary)];
    const confirmations = fakes.map((f) => confirmation(f, sampler));
    for (const c of confirmations) c.start();
    await settle();
    const atStart = fakes.reduce((n, f) => n + f.infos, 0);
    await jest.advanceTimersByTimeAsync(3000);
    await settle();
    expect(fakes.reduce((n, f) => n + f.infos, 0) - atStart).toBe(3);
    for (const c of confirmations) expect(c.requiredNow()).toBe(2);
    for (const c of confirmations) c.stop();
  });

  it('samples a connection a failover moved to another server on its own: it never takes the other primary’s answer', async () => {
    const old = { online: 1, replId: 'old', port: 6379 };
    const promoted = { online: 0, replId: 'new', port: 6380 };
    const sampler = new ReplicationSampler(1000);
    const a = new FakeConnection(old);
    const b = new FakeConnection(old);
    const ca = confirmation(a, sampler);
    const cb = confirmation(b, sampler);
    old.online = 2;
    ca.start();
    cb.start();
    await settle();
    old.online = 1; // one replica promoted: the old primary still acknowledges with the other
    a.moveTo(promoted);
    await jest.advanceTimersByTimeAsync(1000);
    await settle();
    // b is still on the old primary: it waits for the two replicas that primary had, not for the new one's none.
    expect(cb.requiredNow()).toBe(2);
    expect(ca.requiredNow()).toBe(0);
    expect(b.infos).toBeGreaterThanOrEqual(2);
    ca.stop();
    cb.stop();
  });

  it('samples a connection that is not connected on its own', async () => {
    const primary = { online: 1, replId: 'p', port: 6379 };
    const sampler = new ReplicationSampler(1000);
    const a = new FakeConnection(primary);
    const b = new FakeConnection(primary);
    b.status = 'reconnecting';
    const ca = confirmation(a, sampler);
    const cb = confirmation(b, sampler);
    ca.start();
    cb.start();
    await settle();
    const before = [a.infos, b.infos];
    await jest.advanceTimersByTimeAsync(1000);
    await settle();
    expect([a.infos - before[0], b.infos - before[1]]).toEqual([1, 1]);
    ca.stop();
    cb.stop();
  });

  it('stops its timer when the last confirmation stops', async () => {
    const sampler = new ReplicationSampler(1000);
    const fake = new FakeConnection({ online: 0, replId: 'p', port: 6379 });
    const c = confirmation(fake, sampler);
    c.start();
    await settle();
    c.stop();
    const infos = fake.infos;
    await jest.advanceTimersByTimeAsync(5000);
    expect(fake.infos).toBe(infos);
  });
});
