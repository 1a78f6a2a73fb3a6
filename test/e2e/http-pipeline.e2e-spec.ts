import { randomUUID } from 'node:crypto';
import { ApiProcess, startApi } from '../support/api-process';
import { registerTokenUser, TestUser, waitFor } from '../support/http-client';

const ALLOWED = 'https://app.example.test';

interface LogLine {
  msg?: string;
  level?: number;
  reqId?: string;
  userId?: string | number;
  req?: { method: string; url: string };
  res?: { statusCode: number };
}

function logLines(api: ApiProcess): LogLine[] {
  return api
    .logs()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

/**
 * What Express does before Nest's router (app/http-setup.ts): CORS from
 * CORS_ORIGIN, the request id, and the request's id and user on the log lines
 * written while it runs (pino's mixin over the unit of work) and on its access line.
 */
describe('HTTP pipeline: CORS, request ids, request log fields', () => {
  let api: ApiProcess;
  let user: TestUser;

  beforeAll(async () => {
    // A dead provider first: its failure is logged (warn) inside the request, then `local` answers.
    api = await startApi({ LOG_LEVEL: 'info', CORS_ORIGIN: `${ALLOWED},https://other.example.test`, AI_PROVIDERS: 'openai-compatible:http://127.0.0.1:9/v1,local' }, { timeoutMs: 90_000 });
    user = await registerTokenUser(api.url, 'pipeline');
  }, 120_000);

  afterAll(async () => {
    await api?.stop();
  });

  it('answers an allowed Origin with its CORS headers, a foreign one and none without', async () => {
    const allowed = await fetch(`${api.url}/livez`, { headers: { origin: ALLOWED } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    expect(allowed.headers.get('vary')).toMatch(/Origin/);
    // A browser script can read only the headers listed here (plus the safelisted ones).
    expect(allowed.headers.get('access-control-expose-headers')?.split(',')).toEqual(
      expect.arrayContaining(['X-Request-Id', 'Idempotent-Replayed', 'Retry-After', 'Last-Event-ID-Status']),
    );

    const foreign = await fetch(`${api.url}/livez`, { headers: { origin: 'https://evil.example.test' } });
    expect(foreign.status).toBe(200);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();

    const none = await fetch(`${api.url}/livez`);
    expect(none.headers.get('access-control-allow-origin')).toBeNull();
    expect(none.headers.get('vary')).toBe('Origin');
  });

  it('answers a preflight for an allowed Origin without reaching a route', async () => {
    const res = await fetch(`${api.url}/api/projects`, {
      method: 'OPTIONS',
      headers: { origin: ALLOWED, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    expect(res.headers.get('access-control-allow-headers')).toBe('content-type,authorization');
  });

  it('keeps a sane X-Request-Id and replaces anything else with a UUID', async () => {
    const given = await fetch(`${api.url}/livez`, { headers: { 'x-request-id': 'edge-01.abc:42' } });
    expect(given.headers.get('x-request-id')).toBe('edge-01.abc:42');
    const hostile = await fetch(`${api.url}/livez`, { headers: { 'x-request-id': 'a b\u00e9"}{' } });
    expect(hostile.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const long = await fetch(`${api.url}/livez`, { headers: { 'x-request-id': 'x'.repeat(200) } });
    expect(long.headers.get('x-request-id')).not.toBe('x'.repeat(200));
  });

  it("writes the request's id and user on its access line and on lines logged while it runs", async () => {
    // A query never asked before: a cached answer would not call (and log) the dead provider.
    const res = await user.client.post('/api/ai/complete', { query: `pipeline log fields ${randomUUID()}` }, { 'x-request-id': 'req-log-fields-1' });
    expect(res.status).toBe(200);
    const lines = await waitFor(async () => {
      const mine = logLines(api).filter((l) => l.reqId === 'req-log-fields-1');
      return mine.some((l) => l.msg === 'request completed') && mine.some((l) => l.msg === 'AI provider call failed') ? mine : undefined;
    }, 10_000);
    const access = lines.find((l) => l.msg === 'request completed') as LogLine;
    expect(access.req).toEqual({ method: 'POST', url: '/api/ai/complete' });
    expect(access.res).toEqual({ statusCode: 200 });
    expect(Number(access.userId)).toBe(user.id);
    const inside = lines.find((l) => l.msg === 'AI provider call failed') as LogLine;
    expect(Number(inside.userId)).toBe(user.id);
    // Probes get no access line.
    await fetch(`${api.url}/up`, { headers: { 'x-request-id': 'probe-no-line' } });
    await fetch(`${api.url}/api/auth/me`, { headers: { 'x-request-id': 'req-after-probe' } });
    await waitFor(async () => logLines(api).some((l) => l.reqId === 'req-after-probe' && l.msg === 'request completed'), 10_000);
    expect(logLines(api).some((l) => l.reqId === 'probe-no-line')).toBe(false);
  });
});
