import { Logger } from '@nestjs/common';
import { Job, Queue, Worker } from 'bullmq';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { AppConfig } from '../../config/app-config';
import { bullPrefix } from '../queue/queue.keys';
import { createRedis, RedisClient } from '../redis/redis.factory';
import { ScheduledTask, taskId } from './schedule';

/** BullMQ queue that carries the schedule's ticks (not a queue jobs are dispatched to). */
export const SCHEDULE_QUEUE = 'switchboard-schedule';
/** The last runs, newest first (schedule:list, drills). */
export const scheduleRunsKey = (redisPrefix: string) => `${redisPrefix}schedule:runs`;
const RUNS_KEPT = 1000;
/** A task that runs longer is stopped: the next tick must not find it still going. */
const TASK_TIMEOUT_MS = 10 * 60 * 1000;
const BIN = join(__dirname, '..', '..', '..', 'bin', 'switchboard');

export interface ScheduleRun {
  task: string;
  /** The tick: BullMQ's job id for this iteration (`repeat:<task>:<ms>`), the same on every server. */
  tick: string;
  host: string;
  pid: number;
  exitCode: number | null;
  ms: number;
  at: string;
}

export interface ScheduledTaskView {
  task: string;
  cron: string;
  frequency: string;
  /** Next run (ISO), when the scheduler is registered in Redis. */
  next: string | null;
}

/**
 * `schedule:work` on BullMQ job schedulers: each task is a scheduler (id = its command line) on
 * SCHEDULE_QUEUE; BullMQ adds exactly one job per tick however many processes upsert the same
 * scheduler, and one worker takes each job, so a task runs once per tick across the cluster
 * (Laravel's onOneServer) with any number of schedule:work processes. A task runs as its own
 * bin/switchboard process, as Laravel's scheduler runs artisan commands.
 */
export class ScheduleRunner {
  private readonly logger = new Logger('Schedule');
  private readonly connections: RedisClient[] = [];
  private queue: Queue | undefined;
  private worker: Worker | undefined;

  constructor(
    private readonly config: AppConfig,
    private readonly tasks: readonly ScheduledTask[],
  ) {}

  private connection(name: string): RedisClient {
    const c = createRedis(this.config.redis, { name, failFast: false });
    this.connections.push(c);
    return c;
  }

  private scheduleQueue(): Queue {
    this.queue ??= new Queue(SCHEDULE_QUEUE, { connection: this.connection('schedule'), prefix: bullPrefix(this.config) });
    return this.queue;
  }

  /** Registers every task of the code (idempotent) and removes schedulers the code no longer has. */
  async sync(): Promise<void> {
    const queue = this.scheduleQueue();
    const wanted = new Set(this.tasks.map(taskId));
    for (const task of this.tasks) {
      await queue.upsertJobScheduler(taskId(task), { pattern: task.cron, tz: 'UTC' }, { name: taskId(task), data: { command: task.command }, opts: { attempts: 1, removeOnComplete: 100, removeOnFail: 100 } });
    }
    for (const s of await queue.getJobSchedulers(0, -1)) {
      const id = s.id ?? s.key;
      if (!wanted.has(id)) await queue.removeJobScheduler(id);
    }
  }

  async list(): Promise<ScheduledTaskView[]> {
    const registered = new Map((await this.scheduleQueue().getJobSchedulers(0, -1)).map((s) => [s.id ?? s.key, s]));
    return this.tasks.map((t) => {
      const next = registered.get(taskId(t))?.next;
      return { task: taskId(t), cron: t.cron, frequency: t.frequency, next: next ? new Date(next).toISOString() : null };
    });
  }

  /** Takes ticks until stop(). */
  async work(): Promise<void> {
    await this.sync();
    const redis = this.connection('schedule:runs');
    this.worker = new Worker(SCHEDULE_QUEUE, (job: Job<{ command: string[] }>) => this.runTask(job, redis), {
      connection: this.connection('schedule:worker'),
      prefix: bullPrefix(this.config),
      concurrency: Math.max(1, this.tasks.length),
    });
    this.worker.on('error', (err) => this.logger.warn({ err: err.message }, 'schedule connection error'));
    this.logger.log({ tasks: this.tasks.map(taskId) }, 'scheduler started');
    await new Promise<void>((resolve) => this.worker?.once('closed', () => resolve()));
  }

  async stop(): Promise<void> {
    await this.worker?.close();
  }

  async close(): Promise<void> {
    await this.queue?.close();
    await Promise.all(this.connections.map((c) => c.quit().catch(() => c.disconnect())));
  }

  private async runTask(job: Job<{ command: string[] }>, redis: RedisClient): Promise<number | null> {
    const started = Date.now();
    const args = Array.isArray(job.data.command) ? job.data.command.map(String) : [];
    const exitCode = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
      const timer = setTimeout(() => child.kill('SIGTERM'), TASK_TIMEOUT_MS);
      child.on('error', () => resolve(null));
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    const run: ScheduleRun = { task: job.name, tick: String(job.id), host: hostname(), pid: process.pid, exitCode, ms: Date.now() - started, at: new Date(started).toISOString() };
    this.logger.log(run, 'scheduled task finished');
    await redis.multi().lpush(scheduleRunsKey(this.config.redis.prefix), JSON.stringify(run)).ltrim(scheduleRunsKey(this.config.redis.prefix), 0, RUNS_KEPT - 1).exec();
    // A non-zero exit is the task's verdict (queue:monitor exits 1 on an alert), not a scheduler failure to retry.
    return exitCode;
  }
}
