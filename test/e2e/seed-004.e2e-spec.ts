import { randomUUID } from 'node:crypto';
import { createAdmin } from '../support/admin';
import { ApiProcess, startApi } from '../support/api-process';
import { registerTokenUser, TestUser } from '../support/http-client';

jest.setTimeout(120_000);

/**
 * Seed 004 (AI message pipeline), example by example: the cache keyed by
 * hash(query + context_snippet) where the context is a text snippet, hit
 * counts, answers from the cache in milliseconds instead of seconds, and the
 * saving reported truthfully. docs/seeds.md points here.
 */
describe('seed 004: the AI cache examples work as written', () => {
  const PROVIDER_MS = 300;
  let api: ApiProcess;
  let user: TestUser;
  let admin: TestUser;

  beforeAll(async () => {
    // The local provider standing in for a model that takes time to answer (the seed's "3 seconds", shortened).
    api = await startApi({ AI_PROVIDERS: 'local', AI_LOCAL_LATENCY_MS: String(PROVIDER_MS), REDIS_PREFIX: `seed4${randomUUID().slice(0, 8)}:` });
    user = await registerTokenUser(api.url, 'seed4');
    admin = await createAdmin(api.url);
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('accepts context as a string (the seed’s context_snippet) and caches by query + context', async () => {
    const query = `Opening hours? ${randomUUID()}`;
    const context = 'Customer asked about the Riyadh branch yesterday.';
    const first = await user.client.post('/api/ai/complete', { query, context });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ cached: false, hitCount: 0, provider: 'local', answer: expect.any(String) });
    expect(first.body.latencyMs).toBeGreaterThanOrEqual(PROVIDER_MS - 5);
    const second = await user.client.post('/api/ai/complete', { query, context });
    expect(second.body).toMatchObject({ cached: true, hitCount: 1, answer: first.body.answer });
    expect(second.body.latencyMs).toBeLessThan(PROVIDER_MS / 2);
    // Another snippet is another key; an object context still works and is a key of its own.
    const other = await user.client.post('/api/ai/complete', { query, context: 'A different snippet.' });
    expect(other.body.cached).toBe(false);
    const asObject = await user.client.post('/api/ai/complete', { query, context: { snippet: context } });
    expect(asObject.status).toBe(200);
    expect(asObject.body.cached).toBe(false);
    expect((await user.client.post('/api/ai/complete', { query, context: 42 })).status).toBe(400);
  });

  it('reports savedMs as the time hits did not spend (admin only)', async () => {
    expect((await user.client.get('/api/ai/cache/stats')).status).toBe(403);
    const before = (await admin.client.get('/api/ai/cache/stats')).body as { savedMs: number; hits: number };
    const query = `Price list? ${randomUUID()}`;
    await user.client.post('/api/ai/complete', { query, context: 'snippet' });
    for (let i = 0; i < 3; i++) expect((await user.client.post('/api/ai/complete', { query, context: 'snippet' })).body.cached).toBe(true);
    const after = (await admin.client.get('/api/ai/cache/stats')).body as { savedMs: number; hits: number };
    expect(after.hits - before.hits).toBe(3);
    // Each hit saved about one provider call; never more than the three calls it avoided.
    const saved = after.savedMs - before.savedMs;
    expect(saved).toBeGreaterThanOrEqual(3 * (PROVIDER_MS - 50));
    expect(saved).toBeLessThanOrEqual(3 * (PROVIDER_MS + 200));
  });
});
