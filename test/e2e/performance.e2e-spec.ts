import { testRedis } from '../support/redis';
import { ApiProcess, startApi } from '../support/api-process';
import { createAdmin } from '../support/admin';
import { HttpClient, registerUser, waitFor } from '../support/http-client';

/** GET /api/performance/detailed, as far as these tests read it. */
type PerformanceView = {
  instance: string;
  memory: { heapUsedBytes: number; heapLimitBytes: number; rssBytes: number };
  eventLoop: { utilization: number; delayMs: Record<string, number> };
  cpu: { cores: number };
  gc: { count: unknown };
  db: { pools: { role: string; limit: number; open: number }[]; replicaAvailable: boolean };
  queues: Record<string, unknown>;
  connections: unknown;
  cluster?: { processes: { instance: string; sample: { eventLoop: { delayMs: { p99: number } } }; memory: { rssBytes: number } }[] };
};

describe('GET /api/performance/detailed', () => {
  jest.setTimeout(120000);
  let a: ApiProcess;
  let b: ApiProcess;

  beforeAll(async () => {
    [a, b] = await Promise.all([startApi({ INSTANCE_ID: 'perf-a' }), startApi({ INSTANCE_ID: 'perf-b' })]);
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('is refused without a session (401) and for a plain user (403)', async () => {
    expect((await new HttpClient(a.url).get('/api/performance/detailed')).status).toBe(401);
    const user = await registerUser(a.url);
    const res = await user.client.get('/api/performance/detailed');
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ statusCode: 403 });
    expect((await user.client.get('/api/connections/stats')).status).toBe(403);
  });

  it("gives an admin this process's memory, event loop, CPU, GC, DB pools and queue sizes", async () => {
    const admin = await createAdmin(a.url);
    const res = await admin.client.get<PerformanceView>('/api/performance/detailed');
    expect(res.status).toBe(200);
    const body = res.body;
    expect(body.instance).toBe('perf-a');
    expect(body.memory.heapUsedBytes).toBeGreaterThan(0);
    expect(body.memory.heapLimitBytes).toBeGreaterThan(body.memory.heapUsedBytes);
    expect(body.eventLoop.utilization).toBeGreaterThanOrEqual(0);
    expect(body.eventLoop.utilization).toBeLessThanOrEqual(1);
    expect(Object.keys(body.eventLoop.delayMs).sort()).toEqual(['max', 'mean', 'min', 'p50', 'p90', 'p99']);
    expect(body.cpu.cores).toBeGreaterThan(0);
    expect(typeof body.gc.count).toBe('number');
    // The login above used the primary; the pool cluster has a primary and a pool per replica.
    expect(body.db.pools.map((p: { role: string }) => p.role).sort()).toEqual(['primary', ...(process.env.DB_READ_HOST ?? '').split(',').map(() => 'replica')]);
    const primary = body.db.pools.find((p: { role: string }) => p.role === 'primary');
    expect(primary?.limit).toBe(10);
    expect(primary?.open).toBeGreaterThan(0);
    expect(body.db.replicaAvailable).toBe(true);
    for (const q of ['high', 'default']) {
      expect(body.queues[q]).toEqual(expect.objectContaining({ waiting: expect.any(Number), active: expect.any(Number), failed: expect.any(Number), delayed: expect.any(Number) }));
    }
    // Cluster-wide figures from the realtime module.
    expect(body.connections).toMatchObject({ available: true, total: expect.any(Number), limit: 3000, websocket: expect.any(Number) });
  });

  it('lists every live api process of the cluster, whichever process answers', async () => {
    const admin = await createAdmin(b.url);
    const body = await waitFor(
      async () => {
        const res = await admin.client.get<PerformanceView>('/api/performance/detailed');
        const names = (res.body.cluster?.processes ?? []).map((p: { instance: string }) => p.instance);
        return names.includes('perf-a') && names.includes('perf-b') ? res.body : undefined;
      },
      30000,
      500,
    );
    expect(body.instance).toBe('perf-b');
    const other = body.cluster?.processes.find((p: { instance: string }) => p.instance === 'perf-a');
    expect(other?.sample.eventLoop.delayMs.p99).toEqual(expect.any(Number));
    expect(other?.memory.rssBytes).toBeGreaterThan(0);
  });

  it('counts a job waiting on a queue', async () => {
    // A job put on the queue with plain BullMQ, as the api's dispatch does.
    const { Queue } = await import('bullmq');
    const q = new Queue('default', { connection: testRedis('queue') as never, prefix: 'sb:{bull}' });
    const admin = await createAdmin(a.url);
    const before = (await admin.client.get('/api/performance/detailed')).body.queues.default;
    const job = await q.add('perf-probe', {}, { delay: 3600_000 });
    try {
      const after = (await admin.client.get('/api/performance/detailed')).body.queues.default;
      expect(after.delayed).toBe(before.delayed + 1);
    } finally {
      await job.remove();
      await q.close();
    }
  });
});
