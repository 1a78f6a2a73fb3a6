import { Command, CommandRunner, Option } from 'nest-commander';
import { Batches } from '../batch/batches.service';
import { PROBE_JOB, PROBE_VARIANTS, ProbeJob } from '../probe.job';
import { BULK_CHUNK, DispatchedJob, QueueRegistry } from '../queue-registry';
import { parseCount } from '../../cli/cli-output';
import { UsageError } from '../../cli/command-errors';
import { DispatchProgress } from './dispatch-progress';

/** Up to this many jobs, one line per job id; more get one summary line. */
const LINES_PER_JOB_UP_TO = 100;

interface ProbeFlags {
  queue?: string;
  count?: string;
  fail?: boolean;
  ignoreAbort?: boolean;
  as?: string;
  key?: string;
  chain?: boolean;
  batch?: boolean;
  allowFailures?: boolean;
  owner?: string;
  sleep?: string;
  json?: boolean;
}

@Command({ name: 'queue:probe', description: 'Dispatch diagnostic jobs that sleep, then succeed (or throw with --fail); prints their ids' })
export class QueueProbeCommand extends CommandRunner {
  constructor(
    private readonly registry: QueueRegistry,
    private readonly batches: Batches,
  ) {
    super();
  }

  async run(_args: string[], f: ProbeFlags): Promise<void> {
    const queue = f.queue ?? 'default';
    const count = f.count === undefined ? 1 : parseCount('--count', f.count, 1);
    const sleepMs = f.sleep === undefined ? 0 : parseCount('--sleep', f.sleep);
    if (count > 100000) throw new UsageError('--count is limited to 100000');
    if (f.as !== undefined && !(f.as in PROBE_VARIANTS)) throw new UsageError(`--as must be one of ${Object.keys(PROBE_VARIANTS).join(', ')}`);
    if (f.key !== undefined && !/^[\w.:-]{1,64}$/.test(f.key)) throw new UsageError('--key must be 1-64 letters, digits or . _ : -');
    if (f.batch && (f.chain || f.as)) throw new UsageError('--batch goes with neither --chain nor --as');
    if (!f.batch && (f.allowFailures || f.owner !== undefined)) throw new UsageError('--allow-failures and --owner go with --batch');
    const owner = f.owner === undefined ? undefined : parseCount('--owner', f.owner, 1);
    const data: ProbeJob = {
      sleepMs,
      fail: f.fail ?? false,
      ...(f.ignoreAbort ? { ignoreAbort: true } : {}),
      ...(f.key ? { key: f.key } : {}),
      ...(owner ? { userId: owner } : {}),
    };
    const name = f.as ? `${PROBE_JOB}:${f.as}` : PROBE_JOB;
    // With --fail, a chain or a batch fails in its middle job only.
    const failsAt = (i: number) => (f.fail ?? false) && i === Math.floor(count / 2);
    const progress = count > BULK_CHUNK ? new DispatchProgress(process.stderr, count, 'probe jobs') : undefined;
    let ids: DispatchedJob[];
    let batchId: string | undefined;
    if (f.chain) {
      ids = await this.registry.chain(Array.from({ length: count }, (_, i) => ({ queue, name, data: { ...data, fail: failsAt(i) } })));
    } else if (f.batch) {
      const jobs = Array.from({ length: count }, (_, i) => ({ queue, name, data: { ...data, fail: failsAt(i) } }));
      const batch = await this.batches.dispatch(jobs, { name: PROBE_JOB, ownerId: owner, allowFailures: f.allowFailures ?? false, onProgress: (n) => progress?.update(n) });
      batchId = batch.id;
      ids = batch.jobs;
    } else if (f.as) {
      // The middleware variants go one by one: ShouldBeUnique's deduplication is per add.
      ids = [];
      for (let i = 0; i < count; i++) ids.push(await this.registry.dispatch(queue, name, data));
    } else {
      ids = await this.registry.dispatchBulk(queue, Array.from({ length: count }, () => ({ name, data })), { onChunk: (n) => progress?.update(n) });
    }
    progress?.done();
    if (f.json) process.stdout.write(JSON.stringify(batchId ? { batchId, jobs: ids } : ids) + '\n');
    else {
      if (batchId) process.stdout.write(`Dispatched batch ${batchId}: ${ids.length} probe job(s) on ${queue}.\n`);
      if (ids.length <= LINES_PER_JOB_UP_TO) for (const j of ids) process.stdout.write(`Dispatched probe ${j.queue}:${j.id}\n`);
      else process.stdout.write(`Dispatched ${ids.length} probe jobs on ${queue}: ids ${ids[0].id} … ${ids[ids.length - 1].id}\n`);
    }
  }

  @Option({ flags: '--queue <name>', description: 'Queue (default "default")' })
  parseQueue(v: string): string {
    return v;
  }

  @Option({ flags: '--count <n>', description: 'How many jobs (default 1)' })
  parseCount(v: string): string {
    return v;
  }

  @Option({ flags: '--fail', description: 'The jobs throw after sleeping' })
  parseFail(): boolean {
    return true;
  }

  @Option({ flags: '--ignore-abort', description: 'The jobs keep sleeping past --timeout (a drill: the worker must exit and the job be retried)' })
  parseIgnoreAbort(): boolean {
    return true;
  }

  @Option({ flags: '--as <middleware>', description: "Under a job middleware: unique, exclusive (WithoutOverlapping), limited (RateLimited 2/5s), throttled (ThrottlesExceptions 2/5s)" })
  parseAs(v: string): string {
    return v;
  }

  @Option({ flags: '--chain', description: 'Dispatch the jobs as a chain (Bus::chain): in order, stopping at a failure (with --fail, the middle one fails)' })
  parseChain(): boolean {
    return true;
  }

  @Option({ flags: '--batch', description: 'Dispatch the jobs as one batch (Bus::batch): prints its id; with --fail, the middle one fails and the batch is cancelled' })
  parseBatch(): boolean {
    return true;
  }

  @Option({ flags: '--allow-failures', description: 'With --batch: a failed job does not cancel the batch' })
  parseAllowFailures(): boolean {
    return true;
  }

  @Option({ flags: '--owner <userId>', description: 'With --batch: the batch and its jobs belong to this user (batch:progress, GET /api/batches/:id)' })
  parseOwner(v: string): string {
    return v;
  }

  @Option({ flags: '--key <key>', description: 'The middleware key (default "probe")' })
  parseKey(v: string): string {
    return v;
  }

  @Option({ flags: '--sleep <ms>', description: 'Sleep this long first (default 0)' })
  parseSleep(v: string): string {
    return v;
  }

  @Option({ flags: '--json', description: 'JSON: [{queue, id}] (with --batch: {batchId, jobs: [{queue, id}]})' })
  parseJson(): boolean {
    return true;
  }
}
