import { createConnection } from 'mysql2/promise';
import { ApiProcess, startApi } from '../support/api-process';
import { registerTokenUser } from '../support/http-client';
import { stackEnv } from '../support/stack';
import { QueueKit } from './queue-test-kit';

jest.setTimeout(120000);

/** The scheduler's housekeeping tasks (src/app/schedule.ts), each run as the scheduler runs it: bin/switchboard. */
describe('housekeeping commands', () => {
  const kit = new QueueKit();
  let api: ApiProcess;

  beforeAll(async () => {
    api = await startApi(kit.env);
  });
  afterAll(async () => {
    await api?.stop();
    await kit.close();
  });

  it('notifications:prune deletes notifications past the retention and recounts the unread ones', async () => {
    const user = await registerTokenUser(api.url, 'prune');
    const env = stackEnv();
    const db = await createConnection({ host: env.DB_WRITE_HOST, port: Number(env.DB_WRITE_PORT ?? 3306), user: env.DB_USERNAME ?? 'root', password: env.DB_PASSWORD ?? '', database: env.DB_DATABASE ?? 'switchboard' });
    try {
      const insert = (title: string, status: string, daysAgo: number) =>
        db.query('INSERT INTO notifications (user_id, type, title, status, created_at) VALUES (?, ?, ?, ?, NOW(3) - INTERVAL ? DAY)', [user.id, 'test.prune', title, status, daysAgo]);
      await insert('old unread', 'unread', 100);
      await insert('old read', 'read', 95);
      await insert('recent unread', 'unread', 10);
      // Cached now: the prune must invalidate it.
      expect((await user.client.get('/api/notifications/unread-count')).body).toEqual({ count: 2 });

      const r = await kit.cli(['notifications:prune', '--days=90']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^\d+ notification\(s\) older than 90 day\(s\) deleted\.\n$/);
      expect(Number(r.stdout.split(' ')[0])).toBeGreaterThanOrEqual(2);
      const left = (await user.client.get('/api/notifications?status=all')).body as { notifications: Array<{ title: string }> };
      expect(left.notifications.map((n) => n.title)).toEqual(['recent unread']);
      expect((await user.client.get('/api/notifications/unread-count')).body).toEqual({ count: 1 });

      // The retention comes from NOTIFICATIONS_RETENTION_DAYS when --days is not given.
      expect((await kit.cli(['notifications:prune'], { NOTIFICATIONS_RETENTION_DAYS: '5' })).stdout).toMatch(/older than 5 day\(s\)/);
      expect((await user.client.get('/api/notifications/unread-count')).body).toEqual({ count: 0 });
      const bad = await kit.cli(['notifications:prune', '--days=0']);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/--days must be a whole number >= 1/);
    } finally {
      await db.end();
    }
  });

  it('presence:prune removes processes and workers that died without deregistering, and keeps live ones', async () => {
    const p = kit.prefix;
    const old = Date.now() - 3600_000;
    await kit.redis.zadd(`${p}{rt}:procs`, old, 'ghost-api', Date.now() + 60_000, 'live-api');
    await kit.redis.hset(`${p}ops:instances`, 'ghost-api', JSON.stringify({ instance: 'ghost-api', sample: { at: new Date(old).toISOString() } }));
    await kit.redis.zadd(`${p}workers`, old, 'ghost-worker', Date.now() + 60_000, 'live-worker');
    const r = await kit.cli(['presence:prune']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Pruned 1 api process\(es\), \d+ instance report\(s\) and 1 worker\(s\)/);
    // The api this suite started is live too, and stays.
    const procs = await kit.redis.zrange(`${p}{rt}:procs`, 0, -1);
    expect(procs).toContain('live-api');
    expect(procs).not.toContain('ghost-api');
    expect(await kit.redis.hexists(`${p}ops:instances`, 'ghost-api')).toBe(0);
    expect(await kit.redis.zrange(`${p}workers`, 0, -1)).toEqual(['live-worker']);
  });
});
