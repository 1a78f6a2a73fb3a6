/** One queue's last minute in one worker: attempts finished (and failed), and how long jobs waited. */
export interface QueueRate {
  done: number;
  failed: number;
  /** Jobs started for the first time, and their wait (queued → started, as queue_job_wait_seconds). */
  waits: number;
  waitSumS: number;
  waitMaxS: number;
}

/** What /status shows per queue, summed over the live workers. */
export interface QueueRateRow {
  jobsPerMin: number;
  failedPerMin: number;
  waitAvgS: number | null;
  waitMaxS: number | null;
}

const BUCKET_MS = 10_000;
const BUCKETS = 6;

type Bucket = QueueRate & { start: number };

const empty = (start = 0): Bucket => ({ start, done: 0, failed: 0, waits: 0, waitSumS: 0, waitMaxS: 0 });
const round = (n: number) => Math.round(n * 1000) / 1000;

/**
 * Horizon's "jobs per minute" and wait time per queue, kept by each worker in six 10-second buckets
 * and published with its heartbeat (queue:status, /status): nothing is written to Redis per job.
 */
export class QueueRates {
  private readonly queues = new Map<string, Bucket[]>();

  constructor(private readonly now: () => number = Date.now) {}

  waited(queue: string, seconds: number): void {
    const b = this.bucket(queue);
    b.waits++;
    b.waitSumS += seconds;
    b.waitMaxS = Math.max(b.waitMaxS, seconds);
  }

  finished(queue: string, ok: boolean): void {
    const b = this.bucket(queue);
    b.done++;
    if (!ok) b.failed++;
  }

  /** The last minute (50–60 s: the current bucket and the five before it), per queue. */
  lastMinute(): Record<string, QueueRate> {
    const since = this.now() - BUCKET_MS * BUCKETS;
    const out: Record<string, QueueRate> = {};
    for (const [queue, buckets] of this.queues) {
      const r = empty();
      for (const b of buckets) {
        if (b.start <= since) continue;
        r.done += b.done;
        r.failed += b.failed;
        r.waits += b.waits;
        r.waitSumS += b.waitSumS;
        r.waitMaxS = Math.max(r.waitMaxS, b.waitMaxS);
      }
      out[queue] = { done: r.done, failed: r.failed, waits: r.waits, waitSumS: round(r.waitSumS), waitMaxS: round(r.waitMaxS) };
    }
    return out;
  }

  private bucket(queue: string): Bucket {
    const start = Math.floor(this.now() / BUCKET_MS) * BUCKET_MS;
    let list = this.queues.get(queue);
    if (!list) this.queues.set(queue, (list = []));
    let b = list[list.length - 1];
    if (!b || b.start !== start) {
      b = empty(start);
      list.push(b);
      if (list.length > BUCKETS) list.shift();
    }
    return b;
  }
}

/** Sums the workers' last minutes per queue (a queue no worker reported is absent). */
export function ratesByQueue(workers: ReadonlyArray<{ rates?: Record<string, QueueRate> }>): Record<string, QueueRateRow> {
  const sums = new Map<string, QueueRate>();
  for (const w of workers) {
    for (const [queue, r] of Object.entries(w.rates ?? {})) {
      const s = sums.get(queue) ?? empty();
      s.done += r.done;
      s.failed += r.failed;
      s.waits += r.waits;
      s.waitSumS += r.waitSumS;
      s.waitMaxS = Math.max(s.waitMaxS, r.waitMaxS);
      sums.set(queue, s);
    }
  }
  return Object.fromEntries(
    [...sums].map(([queue, s]) => [queue, { jobsPerMin: s.done, failedPerMin: s.failed, waitAvgS: s.waits ? round(s.waitSumS / s.waits) : null, waitMaxS: s.waits ? s.waitMaxS : null }]),
  );
}
