import { randomUUID } from 'node:crypto';
import { createAdmin } from '../support/admin';
import { ApiProcess, startApi } from '../support/api-process';
import { FakeOpenAi, startFakeOpenAi } from '../support/fake-openai';
import { HttpClient, registerTokenUser, registerUser, TestUser } from '../support/http-client';

/** GET /api/ai/cache/stats. */
type CacheStats = { hits: number; misses: number; coalesced: number; entries: number; hitRate: number; savedMs: number };

jest.setTimeout(120_000);

interface Answer {
  answer: string;
  provider: string;
  cached: boolean;
  hitCount: number;
  latencyMs: number;
}

const unique = (what: string) => `${what} ${randomUUID()}`;
/** Provider calls the fake received whose user message is exactly `query`. */
const callsFor = (fake: FakeOpenAi, query: string) =>
  fake.stats().requests.filter((r) => r.messages.some((m) => m.role === 'user' && m.content === query)).length;

async function metric(api: ApiProcess, line: RegExp): Promise<number> {
  const text = await (await fetch(`${api.url}/metrics`)).text();
  const hit = text.split('\n').find((l) => line.test(l));
  return hit ? Number(hit.split(' ').pop()) : 0;
}

describe('AI answers through an OpenAI-compatible provider (cache, coalescing, cap)', () => {
  let fake: FakeOpenAi;
  let api: ApiProcess;
  let api2: ApiProcess;
  let user: TestUser;
  let admin: TestUser;
  let providerName: string;

  beforeAll(async () => {
    fake = await startFakeOpenAi();
    providerName = `openai-compatible:${fake.url}`;
    const env = {
      AI_PROVIDERS: providerName,
      AI_API_KEY: 'test-key-123',
      AI_MODEL: 'test-model',
      AI_CONCURRENCY: '3',
      AI_BATCH_WINDOW_MS: '20',
      AI_TIMEOUT_MS: '10000',
    };
    [api, api2] = await Promise.all([startApi(env, { timeoutMs: 90_000 }), startApi(env, { timeoutMs: 90_000 })]);
    user = await registerUser(api.url, 'ai');
    admin = await createAdmin(api.url);
  });

  afterAll(async () => {
    await Promise.all([api?.stop(), api2?.stop()]);
    await fake?.close();
  });

  beforeEach(() => fake.set({ mode: 'ok', latencyMs: 0 }));

  it('answers a miss from the provider, then the same (normalised) query from the cache with a growing hit count', async () => {
    const query = unique('How do I reset my password?');
    const first = await user.client.post<Answer>('/api/ai/complete', { query });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ answer: `fake answer to: ${query}`, provider: providerName, cached: false, hitCount: 0, latencyMs: expect.any(Number) });

    const second = await user.client.post<Answer>('/api/ai/complete', { query: `  ${query.toUpperCase().replace(/ /g, '   ')} ` });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ answer: first.body.answer, provider: providerName, cached: true, hitCount: 1 });

    const third = await user.client.post<Answer>('/api/ai/complete', { query });
    expect(third.body).toMatchObject({ answer: first.body.answer, cached: true, hitCount: 2 });
    expect(callsFor(fake, query)).toBe(1);

    const sent = fake.stats().requests.find((r) => r.messages.some((m) => m.content === query));
    expect(sent).toMatchObject({ model: 'test-model', authorization: 'Bearer test-key-123' });
  });

  it('misses for a different context and hits for the same context written in another key order', async () => {
    const query = unique('What changed in the release?');
    const a = await user.client.post<Answer>('/api/ai/complete', { query, context: { projectId: 1, lang: 'en' } });
    const b = await user.client.post<Answer>('/api/ai/complete', { query, context: { projectId: 2, lang: 'en' } });
    const none = await user.client.post<Answer>('/api/ai/complete', { query });
    const again = await user.client.post<Answer>('/api/ai/complete', { query, context: { lang: 'en', projectId: 1 } });
    expect([a.status, b.status, none.status, again.status]).toEqual([200, 200, 200, 200]);
    expect(a.body.cached).toBe(false);
    expect(b.body.cached).toBe(false);
    expect(none.body.cached).toBe(false);
    expect(again.body).toMatchObject({ cached: true, hitCount: 1 });
    expect(callsFor(fake, query)).toBe(3);
    const withContext = fake.stats().requests.find((r) => r.messages.some((m) => m.content === query && m.role === 'user'));
    expect(withContext?.messages.some((m) => m.role === 'system' && m.content.includes('"projectId":1'))).toBe(true);
  });

  it('coalesces ten identical concurrent requests into one provider call', async () => {
    fake.set({ latencyMs: 600 });
    const query = unique('Summarise the incident');
    const results = await Promise.all(Array.from({ length: 10 }, () => user.client.post<Answer>('/api/ai/complete', { query })));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(new Set(results.map((r) => r.body.answer))).toEqual(new Set([`fake answer to: ${query}`]));
    expect(callsFor(fake, query)).toBe(1);
  });

  it('coalesces identical concurrent requests across two api processes into one provider call', async () => {
    fake.set({ latencyMs: 800 });
    const query = unique('Explain the outage');
    const other = user.client.on(api2.url);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? other : user.client).post<Answer>('/api/ai/complete', { query })),
    );
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(new Set(results.map((r) => r.body.answer))).toEqual(new Set([`fake answer to: ${query}`]));
    expect(callsFor(fake, query)).toBe(1);
  });

  it('never has more than AI_CONCURRENCY (3) calls in flight at the provider', async () => {
    fake.set({ latencyMs: 300 });
    fake.reset();
    const queries = Array.from({ length: 12 }, (_, i) => unique(`distinct question ${i}`));
    const results = await Promise.all(queries.map((query) => user.client.post<Answer>('/api/ai/complete', { query })));
    expect(results.map((r) => r.status)).toEqual(Array(12).fill(200));
    expect(results.map((r) => r.body.answer)).toEqual(queries.map((q) => `fake answer to: ${q}`));
    expect(fake.stats().calls).toBe(12);
    expect(fake.stats().maxInFlight).toBeLessThanOrEqual(3);
  });

  it('reports cluster-wide cache stats to admins only', async () => {
    const before = await admin.client.get<CacheStats>('/api/ai/cache/stats');
    expect(before.status).toBe(200);
    const query = unique('stats probe');
    await user.client.post('/api/ai/complete', { query });
    await user.client.post('/api/ai/complete', { query });
    const after = await admin.client.get<CacheStats>('/api/ai/cache/stats');
    expect(after.body).toEqual({
      hits: before.body.hits + 1,
      misses: before.body.misses + 1,
      coalesced: expect.any(Number),
      entries: expect.any(Number),
      hitRate: expect.any(Number),
      savedMs: expect.any(Number),
    });
    expect(after.body.entries).toBeGreaterThanOrEqual(1);
    expect(after.body.savedMs).toBeGreaterThanOrEqual(before.body.savedMs);
    expect(after.body.hitRate).toBeCloseTo(after.body.hits / (after.body.hits + after.body.misses), 3);
    expect((await user.client.get('/api/ai/cache/stats')).status).toBe(403);
    expect((await new HttpClient(api.url).get('/api/ai/cache/stats')).status).toBe(401);
  });

  it('rejects bad input with 400 (field messages) or 413, and anonymous callers with 401', async () => {
    const post = (body: unknown) => user.client.post('/api/ai/complete', body);
    const callsBefore = fake.stats().calls;
    for (const body of [{ query: '' }, { query: '   \n ' }, {}, { query: 42 }]) {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body.message)).toMatch(/query/);
    }
    const long = await post({ query: 'x'.repeat(8001) });
    expect(long.status).toBe(400);
    expect(long.body.message).toEqual(expect.arrayContaining(['query must be at most 8000 characters']));
    const huge = await post({ query: 'y'.repeat(100 * 1024) });
    expect(huge.status).toBe(400);
    expect(huge.body.message).toEqual(expect.arrayContaining(['query must be at most 8000 characters']));
    expect((await post({ query: 'q', context: [1, 2] })).status).toBe(400);
    // A text context is seed 004's own form (seed-004.e2e-spec.ts); an oversized one is refused like an object.
    expect((await post({ query: 'q', context: 'z'.repeat(20_000) })).status).toBe(400);
    expect((await post({ query: 'q', context: { blob: 'z'.repeat(20_000) } })).status).toBe(400);
    expect((await post({ query: 'q', extra: true })).status).toBe(400);
    expect((await post(`{"query":"q","context":{"a":${'['.repeat(50_000)}${']'.repeat(50_000)}}}`)).status).toBe(400);
    expect((await post('{"query": ')).status).toBe(400);
    expect((await post({ query: 'w'.repeat(1_100_000) })).status).toBe(413);
    expect((await new HttpClient(api.url).post('/api/ai/complete', { query: 'hello' })).status).toBe(401);
    expect(fake.stats().calls).toBe(callsBefore);
    expect(api.running).toBe(true);
  });

  it('works with a bearer token too and counts cache outcomes in /metrics', async () => {
    const tokenUser = await registerTokenUser(api.url, 'ai-token');
    const query = unique('metrics probe');
    const hitsBefore = await metric(api, /^ai_cache_requests_total\{result="hit"\}/);
    expect((await tokenUser.client.post('/api/ai/complete', { query })).status).toBe(200);
    expect((await tokenUser.client.post('/api/ai/complete', { query })).status).toBe(200);
    expect(await metric(api, /^ai_cache_requests_total\{result="hit"\}/)).toBe(hitsBefore + 1);
    expect(await metric(api, new RegExp(`^ai_provider_requests_total\\{provider="${providerName.replace(/[.:/]/g, '\\$&')}",status="ok"\\}`))).toBeGreaterThan(0);
    expect(await metric(api, /^ai_provider_latency_seconds_count\{provider="openai-compatible:/)).toBeGreaterThan(0);
  });
});

describe('AI provider failover and circuit breakers', () => {
  let hung: FakeOpenAi;
  let live: FakeOpenAi;
  let flaky: FakeOpenAi;
  let failover: ApiProcess;
  let recovering: ApiProcess;
  let user: TestUser;

  beforeAll(async () => {
    [hung, live, flaky] = await Promise.all([startFakeOpenAi({ mode: 'hang' }), startFakeOpenAi(), startFakeOpenAi({ mode: 'error' })]);
    [failover, recovering] = await Promise.all([
      startApi({
        AI_PROVIDERS: `openai-compatible:${hung.url},openai-compatible:${live.url},local`,
        AI_TIMEOUT_MS: '4000',
        AI_BREAKER_COOLDOWN_MS: '600000',
      }, { timeoutMs: 90_000 }),
      startApi({ AI_PROVIDERS: `openai-compatible:${flaky.url},local`, AI_TIMEOUT_MS: '5000', AI_BREAKER_COOLDOWN_MS: '1000' }, { timeoutMs: 90_000 }),
    ]);
    user = await registerUser(failover.url, 'ai-failover');
  });

  afterAll(async () => {
    await Promise.all([failover?.stop(), recovering?.stop()]);
    await Promise.all([hung?.close(), live?.close(), flaky?.close()]);
  });

  it('fails over dead → live → local, and skips the dead provider once its circuit is open', async () => {
    const first = await user.client.post<Answer>('/api/ai/complete', { query: unique('first question') });
    expect(first.status).toBe(200);
    expect(first.body.provider).toBe(`openai-compatible:${live.url}`);
    expect(first.body.latencyMs).toBeGreaterThanOrEqual(3900); // it paid the one timeout
    expect(hung.stats().calls).toBe(1);

    // Circuit open: the hung provider is not called again, so the answer does not wait for the timeout.
    const second = await user.client.post<Answer>('/api/ai/complete', { query: unique('second question') });
    expect(second.body.provider).toBe(`openai-compatible:${live.url}`);
    expect(hung.stats().calls).toBe(1);
    expect(second.body.latencyMs).toBeLessThan(4000);

    live.set({ mode: 'error' });
    const query = unique('third question');
    const third = await user.client.post<Answer>('/api/ai/complete', { query });
    expect(third.status).toBe(200);
    expect(third.body.provider).toBe('local');
    expect(third.body.answer).toContain('[local:');
    expect(callsFor(live, query)).toBe(1);
    expect(hung.stats().calls).toBe(1);
  });

  it('shares the cache between api processes', async () => {
    const query = unique('shared between processes');
    const a = await user.client.post<Answer>('/api/ai/complete', { query });
    const b = await user.client.on(recovering.url).post<Answer>('/api/ai/complete', { query });
    expect(a.body.cached).toBe(false);
    expect(b.body).toMatchObject({ cached: true, hitCount: 1, answer: a.body.answer, provider: a.body.provider });
  });

  it('probes a failed provider after the cooldown and uses it again once it answers', async () => {
    const client = user.client.on(recovering.url);
    const down = await client.post<Answer>('/api/ai/complete', { query: unique('while flaky is down') });
    expect(down.body.provider).toBe('local');
    const callsWhileDown = flaky.stats().calls;
    expect(callsWhileDown).toBeGreaterThanOrEqual(1);
    const skipped = await client.post<Answer>('/api/ai/complete', { query: unique('circuit open') });
    expect(skipped.body.provider).toBe('local');

    flaky.set({ mode: 'ok' });
    const recovered = await (async () => {
      for (let i = 0; i < 40; i++) {
        await new Promise((r) => setTimeout(r, 250));
        const res = await client.post<Answer>('/api/ai/complete', { query: unique('after recovery') });
        if (res.body.provider === `openai-compatible:${flaky.url}`) return res;
      }
      return undefined;
    })();
    expect(recovered?.status).toBe(200);
    expect(recovered?.body.answer).toMatch(/^fake answer to: after recovery/);
  });
});

describe('AI answers from the local provider with batching', () => {
  let api: ApiProcess;
  let user: TestUser;

  beforeAll(async () => {
    api = await startApi({ AI_PROVIDERS: 'local', AI_LOCAL_LATENCY_MS: '300', AI_BATCH_WINDOW_MS: '250', AI_CONCURRENCY: '2' }, { timeoutMs: 90_000 });
    user = await registerUser(api.url, 'ai-local');
  });

  afterAll(async () => {
    await api?.stop();
  });

  it('answers deterministically and sends concurrent distinct requests as fewer batched calls', async () => {
    const callsBefore = await metric(api, /^ai_provider_requests_total\{provider="local",status="ok"\}/);
    const queries = Array.from({ length: 8 }, (_, i) => unique(`batched ${i}`));
    const results = await Promise.all(queries.map((query) => user.client.post<Answer>('/api/ai/complete', { query })));
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(results.every((r) => r.body.provider === 'local' && !r.body.cached)).toBe(true);
    const calls = (await metric(api, /^ai_provider_requests_total\{provider="local",status="ok"\}/)) - callsBefore;
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(calls).toBeLessThan(8);

    // Same normalised input, same answer: a second process-independent property of `local`.
    const again = await user.client.post<Answer>('/api/ai/complete', { query: queries[0].toUpperCase() });
    expect(again.body).toMatchObject({ cached: true, answer: results[0].body.answer });
  });
});
