import { Command, CommandRunner, Option } from 'nest-commander';
import { PROBE_JOB, PROBE_VARIANTS, ProbeJob } from '../probe.job';
import { QueueRegistry } from '../queue-registry';
import { parseCount } from '../../cli/cli-output';
import { UsageError } from '../../cli/command-errors';

interface ProbeFlags {
  queue?: string;
  count?: string;
  fail?: boolean;
  ignoreAbort?: boolean;
  as?: string;
  key?: string;
  chain?: boolean;
  sleep?: string;
  json?: boolean;
}

@Command({ name: 'queue:probe', description: 'Dispatch diagnostic jobs that sleep, then succeed (or throw with --fail); prints their ids' })
export class QueueProbeCommand extends CommandRunner {
  constructor(private readonly registry: QueueRegistry) {
    super();
  }

  async run(_args: string[], f: ProbeFlags): Promise<void> {
    const queue = f.queue ?? 'default';
    const count = f.count === undefined ? 1 : parseCount('--count', f.count, 1);
    const sleepMs = f.sleep === undefined ? 0 : parseCount('--sleep', f.sleep);
    if (count > 100000) throw new UsageError('--count is limited to 100000');
    if (f.as !== undefined && !(f.as in PROBE_VARIANTS)) throw new UsageError(`--as must be one of ${Object.keys(PROBE_VARIANTS).join(', ')}`);
    if (f.key !== undefined && !/^[\w.:-]{1,64}$/.test(f.key)) throw new UsageError('--key must be 1-64 letters, digits or . _ : -');
    const data: ProbeJob = { sleepMs, fail: f.fail ?? false, ...(f.ignoreAbort ? { ignoreAbort: true } : {}), ...(f.key ? { key: f.key } : {}) };
    const name = f.as ? `${PROBE_JOB}:${f.as}` : PROBE_JOB;
    const ids = f.chain
      ? await this.registry.chain(Array.from({ length: count }, (_, i) => ({ queue, name, data: { ...data, fail: (f.fail ?? false) && i === Math.floor(count / 2) } })))
      : [];
    if (!f.chain) for (let i = 0; i < count; i++) ids.push(await this.registry.dispatch(queue, name, data));
    if (f.json) process.stdout.write(JSON.stringify(ids) + '\n');
    else for (const j of ids) process.stdout.write(`Dispatched probe ${j.queue}:${j.id}\n`);
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

  @Option({ flags: '--key <key>', description: 'The middleware key (default "probe")' })
  parseKey(v: string): string {
    return v;
  }

  @Option({ flags: '--sleep <ms>', description: 'Sleep this long first (default 0)' })
  parseSleep(v: string): string {
    return v;
  }

  @Option({ flags: '--json', description: 'JSON: [{queue, id}]' })
  parseJson(): boolean {
    return true;
  }
}
