/* eslint-disable @typescript-eslint/no-require-imports */
import { join } from 'node:path';
import { createAdmin } from '../support/admin';
import { ApiProcess, ROOT, startApi } from '../support/api-process';
import { waitFor } from '../support/http-client';
import { metricValue } from '../support/metrics';
import { ownStack, stackEnv } from '../support/stack';

/**
 * Two replicas and reads that avoid lag (issue 14). The scenario is `npm run drill -- replica-lag`
 * (drills/faults/replica-lag.js), short, on one api process with DB_REPLICA_MAX_LAG_S=2. Needs a
 * stack with two replicas: npm test runs it in its STACK_REPLICAS=2 pass.
 */
const replicas = (stackEnv().DB_READ_HOST ?? '').split(',');
if (replicas.length < 2) throw new Error('replica-pool needs two replicas: STACK_REPLICAS=2 npm test -- test/e2e/replica-pool (a whole npm test runs it in its two-replica pass)');
const stack = ownStack();

interface Outcome {
  figures: Record<string, any>;
  guarantees: Record<string, boolean>;
}
const fault = require(join(ROOT, 'drills', 'faults', 'replica-lag.js')) as {
  run(ctx: { cluster: { url: string; apiPorts: number[] }; env: Record<string, string>; stackName: string; opts: Record<string, number>; log: (m: string) => void }): Promise<Outcome>;
};

const ENV = {
  DB_REPLICA_MAX_LAG_S: '2',
  // One writer and a few readers: the per-user abuse limits are not under test.
  HTTP_RATE_LIMIT_POINTS: '100000',
  WRITE_RATE_LIMIT_POINTS: '100000',
  RATE_LIMIT_POINTS: '100000',
  LOGIN_THROTTLE_ATTEMPTS: '100000',
};

interface ReplicaView {
  host: string;
  state: string;
  inPool: boolean;
  lagSeconds: number | null;
  ioThread: string | null;
  sqlThread: string | null;
}

describe('two replicas, reads that avoid lag', () => {
  jest.setTimeout(240000);
  let api: ApiProcess;

  beforeAll(async () => {
    await stack.control.waitReplicaCaughtUp(stack.name, 30000);
    api = await startApi(ENV);
  });

  afterAll(async () => {
    await Promise.all(['replica', 'replica2'].map((svc) => stack.control.sql(stack.name, svc as 'replica', 'START SLAVE SQL_THREAD').catch(() => undefined)));
    await api?.stop();
  });

  it('shows each replica with its state, lag and threads on /up, /api/performance/detailed and /metrics', async () => {
    const healthy = replicas.map((host): unknown => expect.objectContaining({ host, state: 'ok', inPool: true, lagSeconds: expect.any(Number), ioThread: 'Yes', sqlThread: 'Yes' }));
    const up = await waitFor(async () => {
      const body = (await (await fetch(`${api.url}/up`)).json()) as { status: string; details: { database_read: { status: string; replicas: ReplicaView[] } } };
      return body.details.database_read.replicas.every((r) => r.inPool) ? body : undefined;
    }, 15000);
    expect(up.status).toBe('ok');
    expect(up.details.database_read.replicas).toEqual(healthy);
    const admin = await createAdmin(api.url);
    const perf = await admin.client.get('/api/performance/detailed');
    expect(perf.status).toBe(200);
    expect(perf.body.db.replicas).toEqual(healthy);
    for (const host of replicas) {
      expect(await metricValue(api.url, 'db_replica_in_pool', { replica: host })).toBe(1);
      expect(await metricValue(api.url, 'db_replica_lag_seconds', { replica: host })).toBeLessThan(2);
    }
  });

  it('spreads reads over both replicas; a replica whose SQL thread stopped leaves once it lags past the limit, no read ever older than it; it comes back when caught up; with neither usable reads go to the primary', async () => {
    const o = await fault.run({
      cluster: { url: api.url, apiPorts: [api.port] },
      env: { ...stackEnv(), ...ENV },
      stackName: stack.name,
      opts: { clients: 4, rate: 10, duration: 3 },
      log: () => undefined,
    });
    const failed = Object.entries(o.guarantees).filter(([, ok]) => !ok).map(([k]) => k);
    expect({ failed, figures: o.figures }).toEqual({ failed: [], figures: expect.anything() });
    expect(o.figures.staleReads).toBe(0);
    expect(o.figures.readAgeMs['one-stopped'].max).toBeLessThanOrEqual(2000);
    expect((o.figures.upWhileLagging as ReplicaView[]).find((r) => r.host === replicas[1])).toMatchObject({ state: 'lagging', inPool: false, sqlThread: 'No' });
    expect(api.logs()).toMatch(/replica taken out of the read pool/);
    expect(api.logs()).toMatch(/no replica usable: reads go to the primary/);
  });
});
