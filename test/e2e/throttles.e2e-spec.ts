import { ApiProcess, startApi } from '../support/api-process';
import { HttpClient, registerTokenUser, registerUser, TestUser } from '../support/http-client';
import { metricValue } from '../support/metrics';

/** SPEC §4: login throttled per email + address (Laravel's ThrottlesLogins), a per-user budget on every write, a cap on analyses. */
describe('throttles: brute force and floods', () => {
  let api: ApiProcess;

  beforeAll(async () => {
    // No worker runs here: analyses stay queued, which is what the cap counts.
    api = await startApi({ WRITE_RATE_LIMIT_POINTS: '8', MAX_ACTIVE_ANALYSES_PER_USER: '2', REDIS_PREFIX: `sbthrottle${Date.now()}:` });
  });
  afterAll(async () => {
    await api?.stop();
  });

  const attempt = (email: string, password: string) => new HttpClient(api.url).post('/api/auth/login', { email, password });

  it('locks an email out after 5 attempts a minute from one address, with Retry-After, even for the right password', async () => {
    const u = await registerUser(api.url, 'brute');
    for (let i = 0; i < 5; i++) expect((await attempt(u.email, `guess-number-${i}`)).status).toBe(401);
    const locked = await attempt(u.email, u.password);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(locked.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(locked.body).toMatchObject({ statusCode: 429, message: expect.stringMatching(/login attempts/) });
    // Another account from the same address is not locked out with it.
    const other = await registerUser(api.url, 'bystander');
    expect((await attempt(other.email, other.password)).status).toBe(200);
    expect(await metricValue(api.url, 'http_throttled_total', { limit: 'login_email' })).toBeGreaterThanOrEqual(1);
  });

  it('clears the count on a successful login', async () => {
    const u = await registerUser(api.url, 'forgetful');
    for (let i = 0; i < 4; i++) expect((await attempt(u.email, `typo-number-${i}`)).status).toBe(401);
    expect((await attempt(u.email.toUpperCase(), u.password)).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await attempt(u.email, `typo-again-${i}`)).status).toBe(401);
    expect((await attempt(u.email, u.password)).status).toBe(200);
  });

  it('answers 429 with Retry-After past the per-user write budget, for that user only, and counts it', async () => {
    const u = await registerUser(api.url, 'flood');
    const room = await u.client.post('/api/chat/rooms', { memberIds: [] });
    expect(room.status).toBe(201);
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) statuses.push((await u.client.post(`/api/chat/rooms/${room.body.id}/messages`, { body: `m${i}` })).status);
    // The room itself was write 1 of 8.
    expect(statuses.slice(0, 7)).toEqual(Array(7).fill(201));
    expect(statuses.slice(7)).toEqual([429, 429]);
    const limited = await u.client.post('/api/notifications/read-all');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Reads go on; logging out always works; nothing was stored past the limit.
    const page = await u.client.get(`/api/chat/rooms/${room.body.id}/messages?limit=50`);
    expect(page.status).toBe(200);
    expect(page.body.messages).toHaveLength(7);
    // Other users have budgets of their own.
    const other = await registerTokenUser(api.url, 'calm');
    expect((await other.client.post('/api/projects', { name: 'calm' })).status).toBe(201);
    expect(await metricValue(api.url, 'http_throttled_total', { limit: 'write' })).toBeGreaterThanOrEqual(3);
    expect((await u.client.post('/api/auth/logout')).status).toBe(204);
  });

  it('keeps at most MAX_ACTIVE_ANALYSES_PER_USER analyses waiting or running per user, even when started in parallel', async () => {
    const owner: TestUser = await registerTokenUser(api.url, 'hoarder');
    const project = await owner.client.post('/api/projects', { name: 'queue filler' });
    expect(project.status).toBe(201);
    const started = await Promise.all(
      Array.from({ length: 5 }, () => owner.client.post(`/api/projects/${project.body.id}/analyses`, { priority: 'high', stations: 1 })),
    );
    const statuses = started.map((r) => r.status).sort();
    expect(statuses).toEqual([202, 202, 429, 429, 429]);
    const refused = started.find((r) => r.status === 429);
    expect(refused?.body.message).toMatch(/analyses waiting or running/);
    expect(Number(refused?.headers.get('retry-after'))).toBeGreaterThan(0);
    // Someone else still gets their analysis in.
    const other = await registerTokenUser(api.url, 'patient');
    const theirs = await other.client.post('/api/projects', { name: 'mine' });
    expect((await other.client.post(`/api/projects/${theirs.body.id}/analyses`, { priority: 'high', stations: 1 })).status).toBe(202);
    expect(await metricValue(api.url, 'http_throttled_total', { limit: 'analyses_active' })).toBeGreaterThanOrEqual(3);
  });
});
