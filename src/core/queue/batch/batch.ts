/**
 * Laravel's job batches (Bus::batch) as data: the view, the callbacks a batch can have and the one
 * Lua script that counts a job's outcome. Storage is batch-store.ts; docs/queues.md "Batches".
 */

/** Batch ids are UUIDs, as Laravel's; GET /api/batches/:id refuses anything else. */
export const BATCH_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export type BatchCallbackKind = 'then' | 'catch' | 'finally';
export const BATCH_CALLBACKS: readonly BatchCallbackKind[] = ['then', 'catch', 'finally'];
/** The job that runs one callback of a batch, on a worker: `batch:then`, `batch:catch`, `batch:finally`. */
export const batchCallbackJob = (kind: BatchCallbackKind) => `batch:${kind}`;
/** At most this many failed job ids in a view (a batch of 100,000 may fail whole). */
export const FAILED_IDS_SHOWN = 100;

/** Laravel's Batch::toArray, camelCase, plus skippedJobs (jobs of a cancelled batch that never ran). */
export interface BatchView {
  id: string;
  name: string;
  ownerId: number | null;
  totalJobs: number;
  /** Jobs not (yet) succeeded: waiting, running, failed. */
  pendingJobs: number;
  /** totalJobs - pendingJobs, as Laravel counts them (skipped jobs included). */
  processedJobs: number;
  /** Jobs failed for good and not since retried successfully. */
  failedJobs: number;
  skippedJobs: number;
  /** Laravel's progress(): processed / total, a whole percentage. */
  progress: number;
  allowFailures: boolean;
  /** `<queue>:<id>` as queue:failed prints them (at most FAILED_IDS_SHOWN). */
  failedJobIds: string[];
  createdAt: string;
  cancelledAt: string | null;
  finishedAt: string | null;
}

/** What `batch:progress` carries to the batch's owner. */
export type BatchProgressPayload = Omit<BatchView, 'id' | 'failedJobIds' | 'ownerId' | 'allowFailures' | 'createdAt'> & { batchId: string };

const iso = (ms: string | undefined) => (ms ? new Date(Number(ms)).toISOString() : null);

/** The stored hash (batch-store.ts) as the API shows it. */
export function batchView(id: string, h: Record<string, string>, failed: number, failedJobIds: string[]): BatchView {
  const total = Number(h.total) || 0;
  const pending = Math.max(0, Number(h.pending) || 0);
  const processed = total - pending;
  return {
    id,
    name: h.name ?? '',
    ownerId: h.owner ? Number(h.owner) : null,
    totalJobs: total,
    pendingJobs: pending,
    processedJobs: processed,
    failedJobs: failed,
    skippedJobs: Number(h.skipped) || 0,
    progress: total > 0 ? Math.round((processed / total) * 100) : 0,
    allowFailures: h.allowFailures === '1',
    failedJobIds: [...failedJobIds].sort(byRef),
    createdAt: iso(h.createdAt) ?? new Date(0).toISOString(),
    cancelledAt: iso(h.cancelledAt),
    finishedAt: iso(h.finishedAt),
  };
}

export function progressPayload(v: BatchView): BatchProgressPayload {
  return {
    batchId: v.id,
    name: v.name,
    totalJobs: v.totalJobs,
    pendingJobs: v.pendingJobs,
    processedJobs: v.processedJobs,
    failedJobs: v.failedJobs,
    skippedJobs: v.skippedJobs,
    progress: v.progress,
    cancelledAt: v.cancelledAt,
    finishedAt: v.finishedAt,
  };
}

/** Callbacks the script marked due that nobody has queued yet. */
export function dueCallbacks(h: Record<string, string>): BatchCallbackKind[] {
  return BATCH_CALLBACKS.filter((k) => h[`${k}Due`] !== undefined && h[`${k}Queued`] === undefined);
}

/** Consecutive jobs of one queue, in order: each run goes out with addBulk. */
export function runsByQueue<T extends { queue: string }>(jobs: readonly T[]): Array<{ queue: string; jobs: T[] }> {
  const runs: Array<{ queue: string; jobs: T[] }> = [];
  for (const job of jobs) {
    const last = runs[runs.length - 1];
    if (last && last.queue === job.queue) last.jobs.push(job);
    else runs.push({ queue: job.queue, jobs: [job] });
  }
  return runs;
}

function byRef(a: string, b: string): number {
  const [qa, ia] = [a.slice(0, a.lastIndexOf(':')), a.slice(a.lastIndexOf(':') + 1)];
  const [qb, ib] = [b.slice(0, b.lastIndexOf(':')), b.slice(b.lastIndexOf(':') + 1)];
  return qa.localeCompare(qb) || Number(ia) - Number(ib) || ia.localeCompare(ib);
}

/**
 * One job outcome (or an operator's action) on a batch, atomically. KEYS: the batch hash, the set of
 * job refs counted as done (succeeded or skipped), the set of failed refs. ARGV: op, job ref, now (ms),
 * extra (the error for `failure`, a count for `shrink`, callback kinds for `queued`).
 *
 * Each job counts once however often it is reported (a worker killed between counting and moving
 * the job re-runs it): `success` of a counted ref is a no-op; a retried failed job that succeeds
 * moves from the failed set to done. A batch is finished when every job has succeeded, failed or
 * been skipped (pending == failed): `finally` is then due; `then` is due when nothing is pending
 * and the batch was not cancelled; `catch` at the first failure, which also cancels the batch
 * unless it allows failures. Due callbacks are queued by the caller and marked with `queued`.
 */
export const UPDATE_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local op, ref, now, extra = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if op == 'success' or op == 'skip' then
  if redis.call('SADD', KEYS[2], ref) == 1 then
    redis.call('HINCRBY', KEYS[1], 'pending', -1)
    redis.call('SREM', KEYS[3], ref)
    if op == 'skip' then redis.call('HINCRBY', KEYS[1], 'skipped', 1) end
  end
elseif op == 'failure' then
  if redis.call('SISMEMBER', KEYS[2], ref) == 0 and redis.call('SADD', KEYS[3], ref) == 1 then
    redis.call('HSETNX', KEYS[1], 'firstError', extra)
    redis.call('HSETNX', KEYS[1], 'catchDue', now)
    if redis.call('HGET', KEYS[1], 'allowFailures') ~= '1' then redis.call('HSETNX', KEYS[1], 'cancelledAt', now) end
  end
elseif op == 'cancel' then
  redis.call('HSETNX', KEYS[1], 'cancelledAt', now)
elseif op == 'shrink' then
  redis.call('HINCRBY', KEYS[1], 'total', -tonumber(extra))
  redis.call('HINCRBY', KEYS[1], 'pending', -tonumber(extra))
elseif op == 'queued' then
  for kind in string.gmatch(extra, '[^,]+') do redis.call('HSETNX', KEYS[1], kind .. 'Queued', now) end
end
local pending = tonumber(redis.call('HGET', KEYS[1], 'pending'))
local failed = redis.call('SCARD', KEYS[3])
if pending <= failed then
  redis.call('HSETNX', KEYS[1], 'finishedAt', now)
  redis.call('HSETNX', KEYS[1], 'finallyDue', now)
  if pending <= 0 and redis.call('HEXISTS', KEYS[1], 'cancelledAt') == 0 then redis.call('HSETNX', KEYS[1], 'thenDue', now) end
end
return {redis.call('HGETALL', KEYS[1]), failed}
`;
