import { ApiProcess, runCli, startApi } from '../support/api-process';
import { HttpClient } from '../support/http-client';

jest.setTimeout(120_000);

describe('bin/switchboard db:seed --demo', () => {
  let api: ApiProcess;

  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('creates an admin, users, a project, a room with messages, and prints credentials that sign in', async () => {
    const r = await runCli(['db:seed', '--demo']);
    expect(r.code).toBe(0);
    const creds = [...r.stdout.matchAll(/^\s+(admin|user)\s+(\S+@demo\.test)\s+password: (\S+)/gm)].map((m) => ({ role: m[1], email: m[2], password: m[3] }));
    expect(creds.map((c) => c.role)).toEqual(['admin', 'user', 'user']);
    const [admin, alice, bob] = creds.map((c) => ({ ...c, client: new HttpClient(api.url) }));
    for (const u of [admin, alice, bob]) expect((await u.client.post('/api/auth/login', { email: u.email, password: u.password })).status).toBe(200);
    expect((await admin.client.get('/api/performance/detailed')).status).toBe(200);
    const rooms = await alice.client.get('/api/chat/rooms');
    const roomId = (rooms.body as { id: number }[])[0].id;
    const messages = await bob.client.get(`/api/chat/rooms/${roomId}/messages`);
    expect(messages.body.messages).toHaveLength(3);
    const projects = await bob.client.get('/api/projects');
    expect(projects.body).toHaveLength(1);
    // Every run is a new demo: nothing existing is changed, and a second run succeeds.
    expect((await runCli(['db:seed', '--demo'])).code).toBe(0);
    expect((await runCli(['db:seed'])).code).toBe(2);
  });
});
