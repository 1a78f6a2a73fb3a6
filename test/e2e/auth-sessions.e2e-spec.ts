import { ApiProcess, runCli, startApi } from '../support/api-process';
import { createAdmin } from '../support/admin';
import { HttpClient, registerUser } from '../support/http-client';
import { testRedis } from '../support/redis';

describe('sessions in Redis and bearer tokens across api processes', () => {
  let a: ApiProcess;
  let b: ApiProcess;

  beforeAll(async () => {
    [a, b] = await Promise.all([startApi(), startApi()]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('uses a session started on one process on the other one', async () => {
    const u = await registerUser(a.url, 'session');
    const me = await u.client.on(b.url).get('/api/auth/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: u.id, email: u.email, role: 'user' });
    expect(me.body).not.toHaveProperty('passwordHash');
  });

  it('logs in with the password, not with a wrong one', async () => {
    const u = await registerUser(a.url, 'login');
    const fresh = new HttpClient(b.url);
    const wrong = await fresh.post('/api/auth/login', { email: u.email, password: 'not-the-password' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.message).toBe('Invalid email or password');
    const unknown = await fresh.post('/api/auth/login', { email: 'nobody-here@example.test', password: 'whatever1' });
    expect(unknown.status).toBe(401);
    const ok = await fresh.post('/api/auth/login', { email: u.email.toUpperCase(), password: u.password });
    expect(ok.status).toBe(200);
    expect((await fresh.get('/api/auth/me')).body.id).toBe(u.id);
  });

  it('destroys the session in Redis on logout, for every process', async () => {
    const u = await registerUser(a.url, 'logout');
    const cookie = u.client.cookieHeader;
    const signed = decodeURIComponent(u.client.cookies.get('switchboard.sid') as string).slice(2);
    const sid = signed.slice(0, signed.lastIndexOf('.')); // `<userId>.<random>` then `.<signature>`
    expect(sid).toMatch(new RegExp(`^${u.id}\\.[\\w-]{32}$`)); // the id names its user (session-cookie.ts)
    const redis = testRedis();
    expect(await redis.exists(`sb:sess:${sid}`)).toBe(1);
    const out = await u.client.on(b.url).post('/api/auth/logout');
    expect(out.status).toBe(204);
    expect(await redis.exists(`sb:sess:${sid}`)).toBe(0);
    await redis.quit();
    for (const url of [a.url, b.url]) {
      const replayed = await fetch(`${url}/api/auth/me`, { headers: { cookie } });
      expect(replayed.status).toBe(401);
    }
  });

  it('slides a session cookie once a minute per process, not on every response', async () => {
    const u = await registerUser(a.url, 'sliding');
    const cookie = u.client.cookieHeader;
    const value = u.client.cookies.get('switchboard.sid') as string;
    // b has not answered this cookie yet: it sends it again, same value, with an expiry a whole SESSION_TTL_SECONDS away.
    const first = await fetch(`${b.url}/api/auth/me`, { headers: { cookie } });
    expect(first.status).toBe(200);
    const sent = first.headers.get('set-cookie') ?? '';
    expect(sent.startsWith(`switchboard.sid=${value};`)).toBe(true);
    const expires = Date.parse(/Expires=([^;]+)/.exec(sent)?.[1] ?? '');
    expect(expires).toBeGreaterThan(Date.now() + 7200_000 - 60_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 7200_000 + 1_000);
    // Within the minute: the same answer without the cookie, on every further request.
    for (let i = 0; i < 3; i++) {
      const again = await fetch(`${b.url}/api/auth/me`, { headers: { cookie } });
      expect(again.status).toBe(200);
      expect(((await again.json()) as { id: number }).id).toBe(u.id);
      expect(again.headers.get('set-cookie')).toBeNull();
    }
    // A changed session is always sent: logging in again on b answers a new cookie at once.
    const relogin = await fetch(`${b.url}/api/auth/login`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ email: u.email, password: u.password }),
    });
    expect(relogin.status).toBe(200);
    const renewed = relogin.headers.get('set-cookie') ?? '';
    expect(renewed).toMatch(/^switchboard\.sid=/);
    expect(renewed.startsWith(`switchboard.sid=${value};`)).toBe(false);
  });

  it('issues bearer tokens that work everywhere and stop working after logout', async () => {
    const u = await registerUser(a.url, 'token');
    const t = await u.client.post('/api/auth/token');
    expect(t.status).toBe(200);
    expect(t.body.expiresIn).toBeGreaterThan(0);
    const bearer = new HttpClient(b.url);
    bearer.token = t.body.token as string;
    expect((await bearer.get('/api/auth/me')).body.id).toBe(u.id);
    expect((await bearer.post('/api/auth/logout')).status).toBe(204);
    expect((await bearer.get('/api/auth/me')).status).toBe(401);
    expect((await bearer.on(a.url).get('/api/auth/me')).status).toBe(401);
  });

  it('rejects forged, tampered and malformed tokens with 401', async () => {
    const u = await registerUser(a.url, 'forge');
    const { token } = (await u.client.post('/api/auth/token')).body as { token: string };
    const [h, p, s] = token.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const elevated = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url');
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    for (const bad of [`${h}.${elevated}.${s}`, `${none}.${p}.`, 'not-a-token', `${h}.${p}.${s.slice(0, -2)}xx`]) {
      const res = await fetch(`${a.url}/api/auth/me`, { headers: { authorization: `Bearer ${bad}` } });
      expect(res.status).toBe(401);
    }
    const basic = await fetch(`${a.url}/api/auth/me`, { headers: { authorization: 'Basic Zm9vOmJhcg==' } });
    expect(basic.status).toBe(401);
  });

  it('refuses a second account with the same email (409) and changes nothing', async () => {
    const u = await registerUser(a.url, 'dup');
    const again = await new HttpClient(b.url).post('/api/auth/register', { email: u.email, password: 'another-pass-1', name: 'Other' });
    expect(again.status).toBe(409);
    const login = await new HttpClient(a.url).post('/api/auth/login', { email: u.email, password: u.password });
    expect(login.status).toBe(200);
  });

  it('creates admins with bin/switchboard user:create and refuses an existing email', async () => {
    const admin = await createAdmin(a.url);
    const me = await admin.client.get('/api/auth/me');
    expect(me.body.role).toBe('admin');
    const again = await runCli(['user:create', `--email=${admin.email}`, '--password=whatever-123']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('already exists');
  });
});
