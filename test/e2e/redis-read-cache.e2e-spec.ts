import Redis from 'ioredis';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BatchedReads } from '../../src/core/redis/batched-reads';
import { stackEnv } from '../support/stack';

/**
 * BatchedReads' client-side cache against the real Redis: what another
 * connection wrote is what a read returns once a client has had the writer's
 * answer and asked again (modelled by one HTTP round trip on loopback, no
 * sleep), while unchanged keys are served from memory.
 */
describe('BatchedReads with Redis client tracking', () => {
  const url = stackEnv().REDIS_URL;
  const tag = `rc${process.pid}`;
  const prefix = `test:${tag}:`;
  const opened: Redis[] = [];
  const connect = (name: string, extra: Record<string, unknown> = {}) => {
    const c = new Redis(url, { connectionName: `${tag}-${name}`, maxRetriesPerRequest: 1, ...extra });
    opened.push(c);
    return c;
  };
  let shared: Redis;
  let writer: Redis;
  let reads: BatchedReads;
  let echo: Server;
  let echoUrl: string;
  /** The writer's client got its answer and sends the next request. */
  const clientRoundTrip = () => fetch(echoUrl).then((r) => r.text());

  beforeAll(async () => {
    echo = createServer((_, res) => res.end('ok'));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise((r) => echo.close(r)));

  const waitCaching = async () => {
    const deadline = Date.now() + 10_000;
    while (!reads.caching) {
      if (Date.now() > deadline) throw new Error('tracking never came up');
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  beforeEach(async () => {
    shared = connect('shared');
    writer = connect('writer');
    reads = new BatchedReads(shared, (name) => connect(name, name === 'invalidations' ? { autoResubscribe: false } : {}));
    await reads.get(`${prefix}warm`); // starts tracking
    await waitCaching();
  });

  afterEach(async () => {
    await reads.close();
    await Promise.all(opened.splice(0).map((c) => c.quit().catch(() => c.disconnect())));
  });

  it('serves an unchanged key from memory and a changed one from Redis, every time', async () => {
    const key = `${prefix}k`;
    await writer.del(key);
    expect(await reads.get(key)).toBeNull();
    const before = reads.stats;
    for (let i = 0; i < 5; i++) expect(await reads.get(key)).toBeNull();
    expect(reads.stats.hit - before.hit).toBe(5);
    expect(reads.stats.miss).toBe(before.miss);

    for (let i = 0; i < 200; i++) {
      const value = i % 5 === 4 ? null : `v${i}`;
      if (value === null) await writer.del(key);
      else await writer.set(key, value);
      await clientRoundTrip();
      expect(await reads.get(key)).toBe(value);
      expect(await reads.get(key)).toBe(value);
    }
    expect(reads.stats.hit).toBeGreaterThan(before.hit + 150);
  });

  it('reads the new value after the invalidation connection is killed and the key changes meanwhile', async () => {
    const key = `${prefix}killed`;
    await writer.set(key, 'old');
    expect(await reads.get(key)).toBe('old');
    expect(await reads.get(key)).toBe('old');
    const list = (await writer.client('LIST')) as string;
    const line = list.split('\n').find((l) => l.includes(`name=${tag}-invalidations`));
    const id = /id=(\d+)/.exec(line ?? '')?.[1];
    expect(id).toBeDefined();
    await writer.client('KILL', 'ID', id as string);
    await writer.set(key, 'new'); // its invalidation has nowhere to go
    await clientRoundTrip();
    expect(await reads.get(key)).toBe('new');
    await waitCaching(); // tracking comes back by itself
    await writer.set(key, 'newer');
    await clientRoundTrip();
    expect(await reads.get(key)).toBe('newer');
    expect(await reads.get(key)).toBe('newer');
  });

  it('forgets a value whose TTL ran out within a second, without an invalidation', async () => {
    const key = `${prefix}ttl`;
    await writer.set(key, 'short', 'PX', 200);
    expect(await reads.get(key)).toBe('short');
    await new Promise((r) => setTimeout(r, 1300));
    expect(await reads.get(key)).toBeNull();
  });
});
