import { randomUUID } from 'node:crypto';
import { createAdmin } from '../support/admin';
import { ApiProcess, startApi } from '../support/api-process';
import { HttpClient, registerTokenUser, TestUser } from '../support/http-client';
import { openSocket } from './realtime-helpers';

jest.setTimeout(120_000);

/**
 * Seed 000 (3,000 concurrent sockets), example by example: its variables
 * (MAX_CONCURRENT_CONNECTIONS, MAX_CONNECTIONS_PER_IP, NODE_OPTIONS heap
 * size) and its three `curl` monitoring routes. The routes are admin only
 * (SPEC §11: operations endpoints protect users), so the seed's bare curl
 * gets 401; docs/seeds.md says so.
 */
describe('seed 000: the capacity examples work as written', () => {
  let api: ApiProcess;
  let user: TestUser;
  let admin: TestUser;

  beforeAll(async () => {
    api = await startApi({
      MAX_CONCURRENT_CONNECTIONS: '3000',
      MAX_CONNECTIONS_PER_IP: '50',
      NODE_OPTIONS: '--max-old-space-size=2048',
      REDIS_PREFIX: `seed0${randomUUID().slice(0, 8)}:`,
    });
    user = await registerTokenUser(api.url, 'seed0');
    admin = await createAdmin(api.url);
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('serves /api/performance/detailed and /api/connections/stats to admins, with the seed’s limits and heap size', async () => {
    const perf = await admin.client.get('/api/performance/detailed');
    expect(perf.status).toBe(200);
    // --max-old-space-size=2048 raises V8's heap limit to about 2 GB (plus young generation).
    expect(perf.body.memory.heapLimitBytes).toBeGreaterThanOrEqual(2048 * 1024 * 1024);
    const conns = await admin.client.get('/api/connections/stats');
    expect(conns.status).toBe(200);
    expect(conns.body).toMatchObject({ limit: 3000 });
  });

  it('serves /api/socket-performance to admins: cluster connections, this process’s sockets and events, event loop', async () => {
    const s = openSocket(api.url, '/chat', { token: user.client.token });
    await s.next('connected');
    try {
      const res = await admin.client.get('/api/socket-performance');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        success: true,
        limits: { maxConnections: 3000, maxConnectionsPerIp: 50 },
        cluster: { available: true, limit: 3000 },
        process: { sockets: { '/chat': 1 }, eventLoop: expect.any(Object), memory: expect.any(Object) },
      });
      expect(res.body.cluster.total).toBeGreaterThanOrEqual(1);
      expect(res.body.process.eventsOut['/chat']).toBeGreaterThanOrEqual(1);
    } finally {
      s.socket.close();
    }
  });

  it('refuses the monitoring routes to anonymous callers (401) and plain users (403)', async () => {
    for (const path of ['/api/socket-performance', '/api/performance/detailed', '/api/connections/stats']) {
      expect((await new HttpClient(api.url).get(path)).status).toBe(401);
      expect((await user.client.get(path)).status).toBe(403);
    }
  });
});
