import { ApiProcess, startApi } from '../support/api-process';
import { registerUser, TestUser } from '../support/http-client';
import { ownStack } from '../support/stack';

/** Nothing a client sends may crash the process, leak internals or touch another user's data. */
describe('bad input gets a clear error and changes nothing', () => {
  let api: ApiProcess;
  let alice: TestUser;
  let bob: TestUser;

  const leaks = (text: string) => /\bat .+\.js:\d+|QueryFailedError|SELECT |INSERT INTO|node_modules|stack/i.test(text);

  beforeAll(async () => {
    api = await startApi();
    [alice, bob] = await Promise.all([registerUser(api.url, 'alice'), registerUser(api.url, 'bob')]);
  });
  afterAll(async () => {
    await api?.stop();
    expect(api.logs()).not.toMatch(/FATAL|Unhandled/);
  });

  it('answers malformed JSON with 400', async () => {
    const r = await alice.client.post('/api/projects', '{"name": "x",', { 'content-type': 'application/json' });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ statusCode: 400, error: 'Bad Request', message: 'Malformed JSON in request body' });
  });

  it('names each wrong field in a 400', async () => {
    const r = await alice.client.post('/api/projects', { name: 42, memberIds: ['a', -1] });
    expect(r.status).toBe(400);
    expect(r.body.message).toEqual(expect.arrayContaining(['name must be a string', 'memberIds must be user ids']));
    const reg = await alice.client.post('/api/auth/register', { email: 'not-an-email', password: 'short', name: '' });
    expect(reg.status).toBe(400);
    expect(reg.body.message).toEqual(
      expect.arrayContaining(['email must be an email address', 'password must be 8 to 200 characters', 'name must be 1 to 100 characters']),
    );
  });

  it('refuses unknown properties and non-object bodies', async () => {
    expect((await alice.client.post('/api/projects', { name: 'x', ownerId: bob.id })).status).toBe(400);
    expect((await alice.client.post('/api/projects', [{ name: 'x' }])).status).toBe(400);
    expect((await alice.client.post('/api/projects', '"just a string"', { 'content-type': 'application/json' })).status).toBe(400);
  });

  it('refuses bodies over 1 MB with 413', async () => {
    const r = await alice.client.post('/api/projects', { name: 'x'.repeat(1_100_000) });
    expect(r.status).toBe(413);
    expect(r.body).toMatchObject({ statusCode: 413, message: 'Request body is too large' });
  });

  it('checks the cursor and page size of paged lists', async () => {
    expect((await alice.client.get('/api/notifications?limit=2')).status).toBe(200);
    for (const q of ['limit=0', 'limit=101', 'limit=abc']) expect((await alice.client.get(`/api/notifications?${q}`)).status).toBe(400);
    const badCursor = await alice.client.get('/api/notifications?before=1%20OR%201=1');
    expect(badCursor.status).toBe(400);
    expect(badCursor.body.message).toEqual(['before must be a notification id']);
    const room = await alice.client.post('/api/chat/rooms', { memberIds: [] });
    expect((await alice.client.get(`/api/chat/rooms/${room.body.id}/messages?limit=2`)).status).toBe(200);
    expect((await alice.client.get(`/api/chat/rooms/${room.body.id}/messages?limit=101`)).status).toBe(400);
    expect((await alice.client.get(`/api/chat/rooms/${room.body.id}/messages?before=abc`)).body.message).toEqual(['before must be a message id']);
  });

  it('refuses absurdly nested bodies with 400 on every route', async () => {
    const deep = '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000);
    for (const path of ['/api/projects', '/api/auth/register']) {
      const r = await alice.client.post(path, deep, { 'content-type': 'application/json' });
      expect(r.status).toBe(400);
      expect(r.body.message).toBe('Request body is nested deeper than 32 levels');
    }
  });

  it('stores SQL metacharacters as plain text', async () => {
    const name = `x'); DROP TABLE projects; -- "\\ %_`;
    const r = await alice.client.post('/api/projects', { name });
    expect(r.status).toBe(201);
    expect(r.body.name).toBe(name);
    const list = await alice.client.get('/api/projects');
    expect(list.status).toBe(200);
    const byEmail = await alice.client.post('/api/auth/login', { email: "' OR 1=1 --@x.io", password: "' OR '1'='1" });
    expect([400, 401]).toContain(byEmail.status);
  });

  it('gives 404 for unknown projects, 403 for someone else’s, 400 for a bad id', async () => {
    const mine = await alice.client.post('/api/projects', { name: 'private' });
    // Bob reads the replica: wait until it has the row, or a lagging replica answers 404.
    const { name, control } = ownStack();
    await control.waitReplicaCaughtUp(name, 20000);
    expect((await bob.client.get(`/api/projects/${mine.body.id}`)).status).toBe(403);
    expect((await bob.client.get<{ id: number }[]>('/api/projects')).body.map((p: { id: number }) => p.id)).not.toContain(mine.body.id);
    expect((await alice.client.get('/api/projects/999999999')).status).toBe(404);
    expect((await alice.client.get('/api/projects/abc')).status).toBe(400);
    expect((await alice.client.post('/api/projects', { name: 'x', memberIds: [999999999] })).status).toBe(400);
  });

  it('gives 401 without credentials and 404 for unknown routes, with no internals in any error', async () => {
    const anon = await fetch(`${api.url}/api/projects`);
    expect(anon.status).toBe(401);
    const unknown = await alice.client.get('/api/nope');
    expect(unknown.status).toBe(404);
    for (const r of [await anon.text(), unknown.text]) expect(leaks(r)).toBe(false);
  });

  it('is still serving after all of the above', async () => {
    expect(api.running).toBe(true);
    expect((await fetch(`${api.url}/up`)).status).toBe(200);
  });
});
