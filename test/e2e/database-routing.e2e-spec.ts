import { ApiProcess, runCli, startApi } from '../support/api-process';
import { HttpClient, registerTokenUser, registerUser, TestUser, waitFor } from '../support/http-client';
import { metricValue } from '../support/metrics';
import { ownStack, replicaServices } from '../support/stack';

const stack = ownStack();
// Long enough that the owner's reads below stay inside it on a loaded machine (requests there take seconds).
const WINDOW_MS = 4000;
/** Every replica of the stack (one, or two with STACK_REPLICAS=2): a frozen or stopped "replica" means all of them. */
const REPLICAS = replicaServices();

describe('sticky read/write routing over real replication', () => {
  const { name, control } = stack;
  let a: ApiProcess;
  let b: ApiProcess;
  let owner: TestUser;
  let member: TestUser;

  beforeAll(async () => {
    // The replica frozen below must stay in the read pool for the whole test, however slow the machine:
    // taking a lagging replica out is replica-pool.e2e-spec.ts's subject.
    const env = { DB_STICKY_WINDOW_MS: String(WINDOW_MS), DB_REPLICA_MAX_LAG_S: '120' };
    [a, b] = await Promise.all([startApi(env), startApi(env)]);
    owner = await registerUser(a.url, 'owner');
    member = await registerTokenUser(b.url, 'member');
    await control.waitReplicaCaughtUp(name, 20000);
    // Registering starts the new users' read-your-writes windows: the tests begin with both users outside them.
    await new Promise((r) => setTimeout(r, WINDOW_MS + 300));
  });

  afterAll(async () => {
    await Promise.all(REPLICAS.map((svc) => control.sql(name, svc, 'START SLAVE SQL_THREAD').catch(() => undefined)));
    await Promise.all([a?.stop(), b?.stop()]);
  });

  // Frozen for less than DB_REPLICA_MAX_LAG_S: the replicas stay in the read pool, behind.
  it('serves a write and its read-back in one request from the primary while the replica is frozen', async () => {
    await Promise.all(REPLICAS.map((svc) => control.sql(name, svc, 'STOP SLAVE SQL_THREAD')));
    const created = await owner.client.post('/api/projects', { name: 'frozen-replica', memberIds: [member.id] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'frozen-replica', ownerId: owner.id, memberIds: [owner.id, member.id].sort((x, y) => x - y) });
    const id = created.body.id as number;

    // Another user, fresh unit of work, other process: the replica, which has not applied the insert.
    const replicaReadsBefore = await metricValue(b.url, 'db_queries_total', { role: 'replica', kind: 'read' });
    const seenByMember = await member.client.get('/api/projects');
    expect(seenByMember.status).toBe(200);
    expect((seenByMember.body as Array<{ id: number }>).map((p) => p.id)).not.toContain(id);
    expect(await metricValue(b.url, 'db_queries_total', { role: 'replica', kind: 'read' })).toBeGreaterThan(replicaReadsBefore);

    // The writer, on the other process, inside DB_STICKY_WINDOW_MS: read-your-writes from the primary.
    const seenByOwner = await owner.client.on(b.url).get('/api/projects');
    expect((seenByOwner.body as Array<{ id: number }>).map((p) => p.id)).toContain(id);
    const one = await owner.client.on(b.url).get(`/api/projects/${id}`);
    expect(one.status).toBe(200);

    // After the window the writer is back on the (still frozen) replica.
    await new Promise((r) => setTimeout(r, WINDOW_MS + 300));
    const afterWindow = await owner.client.on(b.url).get('/api/projects');
    expect((afterWindow.body as Array<{ id: number }>).map((p) => p.id)).not.toContain(id);

    // A CLI command is one unit of work too: user:create reads its new row back from the primary.
    const cli = await runCli(['user:create', `--email=frozen-${Date.now()}@example.test`, '--password=password-123']);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);

    await Promise.all(REPLICAS.map((svc) => control.sql(name, svc, 'START SLAVE SQL_THREAD')));
    await control.waitReplicaCaughtUp(name, 20000);
    const caughtUp = await member.client.get('/api/projects');
    expect((caughtUp.body as Array<{ id: number }>).map((p) => p.id)).toContain(id);
  });

  it('checks the users a write names on the primary: one registered a moment ago is no "unknown user" while the replica lags', async () => {
    await Promise.all(REPLICAS.map((svc) => control.sql(name, svc, 'STOP SLAVE SQL_THREAD')));
    try {
      const newcomer = await registerTokenUser(b.url, 'newcomer'); // on the primary only
      // Logging in at once on another process, from another device: not on the replica yet, found on the primary.
      expect((await new HttpClient(a.url).post('/api/auth/login', { email: newcomer.email, password: newcomer.password })).status).toBe(200);
      expect((await new HttpClient(a.url).post('/api/auth/login', { email: newcomer.email, password: 'not-the-password-1' })).status).toBe(401);
      // Registered with a session only (no write of its own since): its next request, on the other process, finds it.
      const justRegistered = await registerUser(b.url, 'just-registered');
      expect((await justRegistered.client.on(a.url).get('/api/auth/me')).status).toBe(200);
      await new Promise((r) => setTimeout(r, WINDOW_MS + 300)); // the owner's own writes no longer send its reads to the primary
      const replicaReads = await metricValue(a.url, 'db_queries_total', { role: 'replica', kind: 'read' });
      expect((await owner.client.get('/api/projects')).status).toBe(200);
      expect(await metricValue(a.url, 'db_queries_total', { role: 'replica', kind: 'read' })).toBeGreaterThan(replicaReads); // reads do go to the lagging replica

      const room = await member.client.post('/api/chat/rooms', { name: 'with-newcomer', memberIds: [newcomer.id] });
      expect([room.status, room.body.message]).toEqual([201, undefined]);
      const project = await owner.client.post('/api/projects', { name: 'with-newcomer', memberIds: [newcomer.id] });
      expect([project.status, project.body.message]).toEqual([201, undefined]);
      expect(project.body.memberIds).toContain(newcomer.id);
      // A user that does not exist is still refused, and nothing is written.
      const ghost = await owner.client.post('/api/projects', { name: 'with-ghost', memberIds: [newcomer.id + 1_000_000] });
      expect(ghost.status).toBe(400);
      expect(ghost.body.message).toMatch(/unknown users/);
    } finally {
      await Promise.all(REPLICAS.map((svc) => control.sql(name, svc, 'START SLAVE SQL_THREAD')));
    }
    await control.waitReplicaCaughtUp(name, 20000);
    const names = ((await owner.client.get('/api/projects')).body as Array<{ name: string }>).map((p) => p.name);
    expect(names).toContain('with-newcomer');
    expect(names).not.toContain('with-ghost');
  });

  it('falls back to the primary while the replica is down and returns to it when it is back', async () => {
    const created = await owner.client.post('/api/projects', { name: 'replica-outage', memberIds: [member.id] });
    expect(created.status).toBe(201);
    await control.waitReplicaCaughtUp(name, 20000);
    for (const svc of REPLICAS) await control.stop(name, svc);
    try {
      const started = Date.now();
      const during = await member.client.get('/api/projects');
      expect(during.status).toBe(200);
      expect((during.body as Array<{ id: number }>).map((p) => p.id)).toContain(created.body.id);
      expect(Date.now() - started).toBeLessThan(5000);

      const up = await waitFor(async () => {
        const r = await fetch(`${b.url}/up`);
        const body = (await r.json()) as { status: string; error: Record<string, unknown> };
        return body.error.database_read ? { status: r.status, body } : undefined;
      });
      expect(up.status).toBe(200);
      expect(up.body.status).toBe('degraded');
      expect(up.body.error).toHaveProperty('database_read');
      expect(await metricValue(b.url, 'db_replica_up')).toBe(0);

      const primaryReads = await metricValue(b.url, 'db_queries_total', { role: 'primary', kind: 'read' });
      expect((await member.client.get('/api/projects')).status).toBe(200);
      expect(await metricValue(b.url, 'db_queries_total', { role: 'primary', kind: 'read' })).toBeGreaterThan(primaryReads);
    } finally {
      for (const svc of REPLICAS) await control.start(name, svc);
    }
    await waitFor(async () => (await fetch(`${b.url}/up`).then((r) => r.json() as Promise<{ status: string }>)).status === 'ok', 20000);
    await control.waitReplicaCaughtUp(name, 20000);
    // Pool connections that died with the replica may cost one more fallback; then reads return to it.
    const replicaReads = await metricValue(b.url, 'db_queries_total', { role: 'replica', kind: 'read' });
    await waitFor(async () => {
      expect((await member.client.get('/api/projects')).status).toBe(200);
      return (await metricValue(b.url, 'db_queries_total', { role: 'replica', kind: 'read' })) > replicaReads;
    }, 10000, 250);
  });
});
