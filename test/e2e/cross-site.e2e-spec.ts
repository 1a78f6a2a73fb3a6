import { ApiProcess, startApi } from '../support/api-process';
import { HttpClient, registerTokenUser, registerUser, TestUser } from '../support/http-client';
import { openSocket, outcome } from './realtime-helpers';

/** SPEC §4: a foreign page cannot use the session cookie (CSRF), over HTTP or a socket handshake; bearer clients are unaffected. */
describe('cross-site requests with the session cookie', () => {
  const APP = 'http://app.example.test';
  const EVIL = 'http://evil.example';
  let api: ApiProcess;
  let user: TestUser;
  let roomId: number;

  beforeAll(async () => {
    api = await startApi({ CORS_ORIGIN: `${APP},http://localhost:3000` });
    user = await registerUser(api.url, 'csrf');
    const room = await user.client.post('/api/chat/rooms', { memberIds: [] });
    roomId = room.body.id as number;
  });
  afterAll(async () => {
    await api?.stop();
  });

  const messages = async () => (await user.client.get(`/api/chat/rooms/${roomId}/messages`)).body.messages as { body: string }[];

  it('refuses a form post from a foreign origin and stores nothing', async () => {
    const res = await user.client.post(`/api/chat/rooms/${roomId}/messages`, 'body=pwned', {
      origin: EVIL,
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ statusCode: 403, error: 'Forbidden' });
    expect((await messages()).map((m) => m.body)).not.toContain('pwned');
  });

  it('refuses JSON from a foreign Origin or Referer, and Origin: null', async () => {
    for (const headers of [{ origin: EVIL }, { referer: `${EVIL}/attack.html` }, { origin: 'null' }] as Record<string, string>[]) {
      const res = await user.client.post(`/api/chat/rooms/${roomId}/messages`, { body: 'forged' }, headers);
      expect({ headers, status: res.status }).toEqual({ headers, status: 403 });
    }
    expect((await user.client.post('/api/projects', { name: 'forged' }, { origin: EVIL })).status).toBe(403);
    expect((await messages()).map((m) => m.body)).not.toContain('forged');
  });

  it('accepts CORS_ORIGIN, the API\'s own host, and clients that send no Origin, as long as the body is JSON', async () => {
    expect((await user.client.post(`/api/chat/rooms/${roomId}/messages`, { body: 'from the app' }, { origin: APP })).status).toBe(201);
    expect((await user.client.post(`/api/chat/rooms/${roomId}/messages`, { body: 'same origin' }, { origin: api.url })).status).toBe(201);
    expect((await user.client.post(`/api/chat/rooms/${roomId}/messages`, { body: 'from a page' }, { referer: `${APP}/chat` })).status).toBe(201);
    expect((await user.client.post(`/api/chat/rooms/${roomId}/messages`, { body: 'no origin' })).status).toBe(201);
    const text = await user.client.post(`/api/chat/rooms/${roomId}/messages`, '{"body":"as text"}', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    const form = await user.client.post(`/api/chat/rooms/${roomId}/messages`, 'body=as+form', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
    expect((await messages()).map((m) => m.body)).toEqual(expect.arrayContaining(['from the app', 'same origin', 'from a page', 'no origin']));
    expect((await messages()).map((m) => m.body)).not.toEqual(expect.arrayContaining(['as text']));
    // Reads and a bare POST (no body) are not affected.
    expect((await user.client.get('/api/auth/me', { origin: EVIL })).status).toBe(200);
    expect((await user.client.post('/api/notifications/read-all')).status).toBeLessThan(300);
  });

  it('refuses login and register from a foreign page (login CSRF), not from the app or a non-browser client', async () => {
    const fresh = () => new HttpClient(api.url);
    const form = `email=${encodeURIComponent(user.email)}&password=${encodeURIComponent(user.password)}`;
    const formLogin = await fresh().post('/api/auth/login', form, { origin: EVIL, 'content-type': 'application/x-www-form-urlencoded' });
    expect(formLogin.status).toBe(403);
    expect(formLogin.headers.get('set-cookie')).toBeNull();
    expect((await fresh().post('/api/auth/login', { email: user.email, password: user.password }, { origin: EVIL })).status).toBe(403);
    const email = `csrf-reg-${Date.now()}@example.test`;
    expect((await fresh().post('/api/auth/register', { email, password: 'a sound passphrase', name: 'x' }, { origin: EVIL })).status).toBe(403);
    expect((await fresh().post('/api/auth/login', form, { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415);
    expect((await fresh().post('/api/auth/login', { email: user.email, password: user.password }, { origin: APP })).status).toBe(200);
    expect((await fresh().post('/api/auth/login', { email: user.email, password: user.password })).status).toBe(200);
  });

  it('leaves bearer clients alone, whatever their origin', async () => {
    const bearer = await registerTokenUser(api.url, 'bearer');
    const room = await bearer.client.post('/api/chat/rooms', { memberIds: [] }, { origin: EVIL });
    expect(room.status).toBe(201);
    expect((await bearer.client.post(`/api/chat/rooms/${room.body.id}/messages`, { body: 'ok' }, { origin: EVIL })).status).toBe(201);
  });

  it('refuses a cookie-authenticated socket handshake from a foreign origin, not from an allowed one', async () => {
    const evil = openSocket(api.url, '/chat', { cookie: user.client.cookieHeader, extraHeaders: { origin: EVIL } });
    const good = openSocket(api.url, '/chat', { cookie: user.client.cookieHeader, extraHeaders: { origin: APP } });
    try {
      expect(await outcome(evil.socket)).toBe(false);
      expect(evil.received.find((r) => r.event === 'connect_error')?.payload).toMatchObject({ code: 'forbidden' });
      expect(await outcome(good.socket)).toBe(true);
      expect(await good.next('authenticated')).toMatchObject({ userId: user.id });
    } finally {
      evil.socket.close();
      good.socket.close();
    }
  });
});
