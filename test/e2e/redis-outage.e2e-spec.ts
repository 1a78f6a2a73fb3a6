import { ApiProcess, startApi } from '../support/api-process';
import { registerTokenUser, TestUser, waitFor } from '../support/http-client';
import { ownStack } from '../support/stack';

describe('Redis going away and coming back', () => {
  const { name, control } = ownStack();
  let api: ApiProcess;
  let user: TestUser;

  beforeAll(async () => {
    api = await startApi();
    user = await registerTokenUser(api.url, 'outage');
  });
  afterAll(async () => {
    await control.start(name, 'redis');
    await api?.stop();
  });

  it('reports 503 on /up within 5 s, fails requests fast with 503, and recovers by itself', async () => {
    await control.stop(name, 'redis');
    const t0 = Date.now();
    const up = await fetch(`${api.url}/up`, { signal: AbortSignal.timeout(5000) });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(up.status).toBe(503);
    const body = (await up.json()) as { status: string; error: Record<string, unknown>; info: Record<string, unknown> };
    expect(body.status).toBe('error');
    expect(body.error).toHaveProperty('redis');
    expect(body.info).toHaveProperty('database_write');

    for (const path of ['/api/projects', '/api/auth/me']) {
      const t = Date.now();
      const r = await user.client.get(path);
      expect(Date.now() - t).toBeLessThan(2000);
      expect(r.status).toBe(503);
      expect(r.text).not.toMatch(/ECONNREFUSED|ioredis|at .+\.js/);
    }
    expect((await fetch(`${api.url}/livez`)).status).toBe(200);

    await control.start(name, 'redis');
    await waitFor(async () => (await fetch(`${api.url}/up`)).status === 200, 20000);
    const after = await user.client.get('/api/projects');
    expect(after.status).toBe(200);
    expect(api.running).toBe(true);
  });
});
