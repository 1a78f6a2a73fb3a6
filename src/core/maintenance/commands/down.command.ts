import { Inject } from '@nestjs/common';
import { Command, CommandRunner, Option } from 'nest-commander';
import { AppConfig } from '../../../config/app-config';
import { parseCount } from '../../cli/cli-output';
import { UsageError } from '../../cli/command-errors';
import { maintenanceKey } from '../../queue/queue.keys';
import { liveWorkers } from '../../queue/worker/worker-heartbeat';
import { RealtimeService } from '../../realtime/realtime.contract';
import type { RedisClient } from '../../redis/redis.factory';
import { REDIS } from '../../redis/redis.module';
import type { MaintenanceState } from '../maintenance-state';
import { PAUSE_WAIT_MS, waitForWorkersToPause } from '../workers-paused';

interface DownFlags {
  retry?: string;
  refresh?: string;
  secret?: string;
}

/** Laravel's `php artisan down`, cluster-wide: the state lives in Redis, so it survives api restarts. */
@Command({ name: 'down', description: 'Maintenance mode, cluster-wide: 503 with Retry-After (except /up, /livez, /metrics), new sockets refused, workers pause' })
export class DownCommand extends CommandRunner {
  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly config: AppConfig,
    private readonly realtime: RealtimeService,
  ) {
    super();
  }

  async run(_args: string[], f: DownFlags): Promise<void> {
    const state = parseDownFlags(f);
    await this.redis.set(maintenanceKey(this.config.redis.prefix), JSON.stringify(state));
    await this.realtime
      .broadcast('system:warning', { code: 'maintenance', message: 'The application is going down for maintenance', retryAfter: state.retry ?? null })
      .catch(() => process.stderr.write('down: connected clients could not be told (Redis publish failed)\n'));
    process.stdout.write('Application is now in maintenance mode.\n');
    if (state.secret) process.stdout.write(`Bypass: visit /${state.secret} once to get a cookie that lets you in for 12 hours.\n`);
    await this.reportWorkers();
  }

  /** Returns once every worker takes no new job (running ones finish), so what the operator does next races no job. */
  private async reportWorkers(): Promise<void> {
    const prefix = this.config.redis.prefix;
    const o = await waitForWorkersToPause(() => liveWorkers(this.redis, prefix)).catch(() => undefined);
    if (!o) {
      process.stderr.write('down: could not read the workers from Redis; they pause within a second of reading the flag\n');
      return;
    }
    const running = o.paused.reduce((n, w) => n + w.current.length, 0);
    process.stdout.write(`Workers: ${o.paused.length} paused${running ? ` (${running} running job(s) finish first)` : ''}${o.forced.length ? `, ${o.forced.length} working on (--force)` : ''}.\n`);
    for (const w of o.pending) {
      process.stderr.write(`down: worker ${w.id} (${w.name}, pid ${w.pid} on ${w.host}) has not confirmed the pause within ${PAUSE_WAIT_MS / 1000} s; see queue:status\n`);
    }
  }

  @Option({ flags: '--retry <s>', description: 'Retry-After seconds sent with each 503' })
  parseRetry(v: string): string {
    return v;
  }

  @Option({ flags: '--refresh <s>', description: 'Refresh header: browsers reload after this many seconds' })
  parseRefresh(v: string): string {
    return v;
  }

  @Option({ flags: '--secret <token>', description: 'Visiting /<token> sets a cookie that bypasses maintenance mode' })
  parseSecret(v: string): string {
    return v;
  }
}

function parseDownFlags(f: DownFlags): MaintenanceState {
  const state: MaintenanceState = { since: Date.now() };
  if (f.retry !== undefined) state.retry = parseCount('--retry', f.retry);
  if (f.refresh !== undefined) state.refresh = parseCount('--refresh', f.refresh);
  if (f.secret !== undefined) {
    // It becomes a path (/<secret>): a token that needs no escaping and is not one of our routes.
    if (!/^[A-Za-z0-9_-]{8,128}$/.test(f.secret)) throw new UsageError('--secret must be 8-128 letters, digits, _ or -');
    state.secret = f.secret;
  }
  return state;
}

@Command({ name: 'up', description: 'Leave maintenance mode, cluster-wide' })
export class UpCommand extends CommandRunner {
  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly config: AppConfig,
    private readonly realtime: RealtimeService,
  ) {
    super();
  }

  async run(): Promise<void> {
    const removed = await this.redis.del(maintenanceKey(this.config.redis.prefix));
    if (!removed) {
      process.stdout.write('Application is not in maintenance mode.\n');
      return;
    }
    await this.realtime.broadcast('system:info', { code: 'maintenance_over', message: 'The application is back up' }).catch(() => undefined);
    process.stdout.write('Application is now live.\n');
  }
}
