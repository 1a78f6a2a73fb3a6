import { BatchStore } from '../../src/core/queue/batch/batch-store';
import type { BatchView } from '../../src/core/queue/batch/batch';
import { createAdmin } from '../support/admin';
import { ApiProcess, ManagedProcess, startApi } from '../support/api-process';
import { registerTokenUser, TestUser, waitFor } from '../support/http-client';
import { QueueKit } from './queue-test-kit';
import { openSocket, SseEvent, takeSseEvents } from './realtime-helpers';

jest.setTimeout(180000);

interface ProbeBatch {
  batchId: string;
  jobs: Array<{ queue: string; id: string }>;
}

/** A live SSE stream's numbered events, read until closed. */
function openSse(url: string, token: string) {
  const events: SseEvent[] = [];
  const controller = new AbortController();
  const done = (async () => {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
    if (res.status !== 200 || !res.body) return;
    const reader: ReadableStreamDefaultReader<Uint8Array> = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      buffer = takeSseEvents(buffer + decoder.decode(chunk.value, { stream: true }), events);
    }
  })().catch(() => undefined);
  return { events, close: () => (controller.abort(), done) };
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

/** Laravel's Bus::batch on real workers and Redis: counts, callbacks, cancel, retry, prune, and the API. */
describe('batches', () => {
  const kit = new QueueKit();
  let api: ApiProcess;
  let admin: TestUser;
  let owner: TestUser;
  let other: TestUser;

  beforeAll(async () => {
    api = await startApi(kit.env);
    [admin, owner, other] = await Promise.all([createAdmin(api.url), registerTokenUser(api.url, 'batch-owner'), registerTokenUser(api.url, 'batch-other')]);
  });
  afterAll(async () => {
    await api?.stop();
    await kit.close();
  });
  const workers: ManagedProcess[] = [];
  const work = (args: string[]) => {
    const w = kit.work(args);
    workers.push(w);
    return w;
  };
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    await kit.queue('default').obliterate({ force: true });
  });

  const probeBatch = async (args: string[]): Promise<ProbeBatch> => {
    const r = await kit.cli(['queue:probe', '--batch', '--json', ...args]);
    if (r.code !== 0) throw new Error(`queue:probe --batch failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as ProbeBatch;
  };
  const view = async (id: string): Promise<BatchView> => {
    const r = await admin.client.get<BatchView>(`/api/batches/${id}`);
    expect(r.status).toBe(200);
    return r.body;
  };
  const finished = (id: string) => waitFor(async () => ((await view(id)).finishedAt ? view(id) : undefined), 60000, 200);
  const logged = (worker: ManagedProcess, line: string) => waitFor(async () => worker.logs().includes(line), 30000, 100);

  it('runs every job, sends batch:progress to its owner over Socket.IO and SSE, and calls then and finally', async () => {
    const { socket, received } = openSocket(api.url, '/realtime', { token: owner.client.token });
    const sse = openSse(`${api.url}/api/realtime/events`, owner.client.token as string);
    try {
      await waitFor(async () => received.some((e) => e.event === 'connected'), 15000);
      const { batchId, jobs } = await probeBatch(['--count=5', '--sleep=100', `--owner=${owner.id}`]);
      expect(jobs).toHaveLength(5);
      expect(await view(batchId)).toMatchObject({ id: batchId, name: 'queue:probe', ownerId: owner.id, totalJobs: 5, pendingJobs: 5, processedJobs: 0, progress: 0, finishedAt: null });

      const worker = work(['--queue=default', '--tries=1']);
      const done = await finished(batchId);
      expect(done).toMatchObject({ totalJobs: 5, pendingJobs: 0, processedJobs: 5, failedJobs: 0, skippedJobs: 0, progress: 100, cancelledAt: null, failedJobIds: [] });
      await logged(worker, `queue:probe batch ${batchId}: finally (0 failed, 0 skipped)`);
      expect(worker.logs()).toContain(`queue:probe batch ${batchId}: then (5/5 processed)`);
      expect(worker.logs()).not.toContain(`queue:probe batch ${batchId}: catch`);
      // The callbacks are jobs of their own, on the batch's queue.
      expect(worker.logs()).toMatch(/batch:then default:batch-[0-9a-f-]+-then \.+ DONE/);

      // Live, in order (one worker slot), ending at 100 %: on the socket and on the SSE stream.
      const onSocket = await waitFor(async () => {
        const got = received.filter((e) => e.event === 'batch:progress' && e.payload.batchId === batchId).map((e) => e.payload);
        return got.some((p) => p.finishedAt) ? got : undefined;
      }, 15000);
      const processed = onSocket.map((p) => p.processedJobs as number);
      expect([...processed].sort((a, b) => a - b)).toEqual(processed);
      expect(onSocket[onSocket.length - 1]).toMatchObject({ batchId, progress: 100, processedJobs: 5, pendingJobs: 0, eventType: 'batch:progress' });
      const overSse = await waitFor(async () => sse.events.find((e) => e.event === 'batch:progress' && e.data.batchId === batchId && e.data.finishedAt), 15000);
      expect(overSse.data).toMatchObject({ progress: 100, totalJobs: 5 });
      await worker.stop();
    } finally {
      socket.close();
      await sse.close();
    }
  });

  it('GET /api/batches/:id is for the owner and admins, in the error shape otherwise', async () => {
    const { batchId } = await probeBatch(['--count=2', `--owner=${owner.id}`]);
    expect((await owner.client.get(`/api/batches/${batchId}`)).body).toMatchObject({ id: batchId, totalJobs: 2, ownerId: owner.id });
    const forbidden = await other.client.get(`/api/batches/${batchId}`);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toMatchObject({ statusCode: 403, error: 'Forbidden' });
    expect((await fetch(`${api.url}/api/batches/${batchId}`)).status).toBe(401);
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-batch', "1' OR '1'='1"]) {
      const r = await owner.client.get(`/api/batches/${encodeURIComponent(id)}`);
      expect(r.status).toBe(404);
      expect(r.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
    }
    // An operator's batch (no owner) is the admins' only.
    const { batchId: ops } = await probeBatch(['--count=1']);
    expect((await owner.client.get(`/api/batches/${ops}`)).status).toBe(403);
    expect((await view(ops)).ownerId).toBeNull();
  });

  it('without allowFailures the first failure cancels the batch: catch and finally run, the rest are skipped, then never runs', async () => {
    const { batchId, jobs } = await probeBatch(['--count=5', '--fail']);
    const worker = work(['--queue=default', '--tries=1']);
    const done = await finished(batchId);
    expect(done).toMatchObject({ totalJobs: 5, failedJobs: 1, skippedJobs: 2, pendingJobs: 1, processedJobs: 4, progress: 80, failedJobIds: [`default:${jobs[2].id}`] });
    expect(done.cancelledAt).not.toBeNull();
    await logged(worker, `queue:probe batch ${batchId}: finally (1 failed, 2 skipped)`);
    expect(worker.logs()).toContain(`queue:probe batch ${batchId}: catch (queue:probe was asked to fail (--fail))`);
    expect(worker.logs()).not.toContain(`queue:probe batch ${batchId}: then`);
    // The skipped jobs completed without running.
    expect((await kit.job('default', jobs[4].id))?.returnvalue).toEqual({ skipped: 'batch cancelled' });

    // Retrying a cancelled batch would not make it whole: refused, nothing changes.
    const r = await kit.cli(['queue:retry-batch', batchId]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/was cancelled/);
    expect(await (await kit.job('default', jobs[2].id))?.getState()).toBe('failed');
    await worker.stop();
  });

  it('allowFailures: the others run; queue:retry-batch retries the failed job, and then runs once it succeeds', async () => {
    const { batchId, jobs } = await probeBatch(['--count=5', '--fail', '--allow-failures']);
    const worker = work(['--queue=default', '--tries=1']);
    const done = await finished(batchId);
    expect(done).toMatchObject({ failedJobs: 1, skippedJobs: 0, pendingJobs: 1, processedJobs: 4, cancelledAt: null, allowFailures: true });
    await logged(worker, `queue:probe batch ${batchId}: finally (1 failed, 0 skipped)`);
    expect(worker.logs()).toContain(`queue:probe batch ${batchId}: catch`);
    expect(worker.logs()).not.toContain(`queue:probe batch ${batchId}: then`);

    // The operator fixes the cause, then retries the batch.
    const failed = await kit.job('default', jobs[2].id);
    await failed?.updateData({ ...(failed.data as object), fail: false });
    const r = await kit.cli(['queue:retry-batch', batchId]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`Pushed default:${jobs[2].id} back onto its queue.\n`);
    const whole = await waitFor(async () => {
      const v = await view(batchId);
      return v.pendingJobs === 0 ? v : undefined;
    }, 30000, 200);
    expect(whole).toMatchObject({ failedJobs: 0, processedJobs: 5, progress: 100, failedJobIds: [] });
    await logged(worker, `queue:probe batch ${batchId}: then (5/5 processed)`);
    expect(count(worker.logs(), `queue:probe batch ${batchId}: finally`)).toBe(1);
    expect((await kit.cli(['queue:retry-batch', batchId])).stdout).toBe(`Batch ${batchId} has no failed jobs.\n`);
    await worker.stop();
  });

  it('cancel (CLI or API): jobs not yet run are skipped, finally runs, then does not', async () => {
    const { batchId } = await probeBatch(['--count=3']);
    const r = await kit.cli(['queue:cancel-batch', batchId]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`Batch ${batchId} cancelled: 3 job(s) not run yet will be skipped.\n`);
    const worker = work(['--queue=default', '--tries=1']);
    expect(await finished(batchId)).toMatchObject({ skippedJobs: 3, processedJobs: 3, failedJobs: 0 });
    await logged(worker, `queue:probe batch ${batchId}: finally (0 failed, 3 skipped)`);
    expect(worker.logs()).not.toContain(`queue:probe batch ${batchId}: then`);
    // Finished: cancelling again is a conflict.
    expect((await kit.cli(['queue:cancel-batch', batchId])).code).toBe(1);
    await worker.stop();

    const { batchId: owned } = await probeBatch(['--count=2', `--owner=${owner.id}`, '--sleep=60000']);
    expect((await other.client.post(`/api/batches/${owned}/cancel`)).status).toBe(403);
    const cancelled = await owner.client.post<BatchView>(`/api/batches/${owned}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.cancelledAt).not.toBeNull();
  });

  it('queue:prune-batches deletes finished batches past --hours, unfinished ones with --unfinished', async () => {
    await kit.cli(['queue:prune-batches', '--hours=0', '--unfinished=0']); // the other tests' batches
    const { batchId: done } = await probeBatch(['--count=1']);
    const worker = work(['--queue=default', '--stop-when-empty', '-q']);
    await finished(done);
    await worker.stop();
    const { batchId: waiting } = await probeBatch(['--count=1']);

    expect((await kit.cli(['queue:prune-batches'])).stdout).toBe('0 entries deleted.\n');
    let r = await kit.cli(['queue:prune-batches', '--hours=0']);
    expect(r.stdout).toBe('1 entries deleted.\n');
    expect((await admin.client.get(`/api/batches/${done}`)).status).toBe(404);
    expect((await admin.client.get(`/api/batches/${waiting}`)).status).toBe(200);
    r = await kit.cli(['queue:prune-batches', '--hours=0', '--unfinished=0']);
    expect(r.stdout).toBe('1 entries deleted.\n');
    expect((await admin.client.get(`/api/batches/${waiting}`)).status).toBe(404);

    r = await kit.cli(['queue:prune-batches', '--hours=soon']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--hours must be a whole number/);
    r = await kit.cli(['queue:retry-batch', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a batch id/);
    r = await kit.cli(['queue:retry-batch', '00000000-0000-4000-8000-000000000000']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not found/);
  });

  it('counts each job once however often a worker reports it (a re-run after a crash)', async () => {
    const store = new BatchStore(kit.redis, kit.prefix);
    const id = await store.create({ name: 'store-test', allowFailures: true, total: 2, queue: 'default' });
    await store.update(id, 'success', 'default:1');
    const again = await store.update(id, 'success', 'default:1');
    expect(again?.hash.pending).toBe('1');
    await store.update(id, 'failure', 'default:2', 'boom');
    const failedTwice = await store.update(id, 'failure', 'default:2', 'boom again');
    expect(failedTwice).toMatchObject({ failed: 1, hash: { pending: '1', firstError: 'boom' } });
    expect(failedTwice?.hash.finishedAt).toBeDefined();
    expect(failedTwice?.hash.thenDue).toBeUndefined();
    // A retried job that now succeeds leaves the failed set: everything succeeded, then is due.
    const retried = await store.update(id, 'success', 'default:2');
    expect(retried).toMatchObject({ failed: 0, hash: { pending: '0' } });
    expect(retried?.hash.thenDue).toBeDefined();
    expect(await store.update('00000000-0000-4000-8000-000000000000', 'success', 'default:3')).toBeNull();
  });
});
