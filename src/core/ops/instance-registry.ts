import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import type { RedisClient } from '../redis/redis.factory';
import { REDIS } from '../redis/redis.module';
import { RuntimeSample, RuntimeSampler } from './runtime-sampler';

export interface InstanceReport {
  instance: string;
  pid: number;
  startedAt: string;
  sample: RuntimeSample;
  memory: { rssBytes: number; heapUsedBytes: number; heapLimitBytes: number };
}

/** A process that has not reported for this long is gone (three sample windows). */
/** Hash instance id → its last report (JSON), written by every api process. */
export const instancesKey = (redisPrefix: string) => `${redisPrefix}ops:instances`;

export const INSTANCE_STALE_MS = RuntimeSampler.SAMPLE_WINDOW_MS * 3;

/** Reports younger than `staleMs`, newest sample first by instance name. */
export function liveReports(raw: Record<string, string>, now: number, staleMs = INSTANCE_STALE_MS): { live: InstanceReport[]; stale: string[] } {
  const live: InstanceReport[] = [];
  const stale: string[] = [];
  for (const [field, json] of Object.entries(raw)) {
    try {
      const r = JSON.parse(json) as InstanceReport;
      if (now - Date.parse(r.sample.at) <= staleMs) live.push(r);
      else stale.push(field);
    } catch {
      stale.push(field);
    }
  }
  live.sort((a, b) => a.instance.localeCompare(b.instance));
  return { live, stale };
}

/**
 * Cluster-wide runtime figures: every api process writes its latest sample to one Redis hash
 * (`<prefix>ops:instances`), so any process can answer for all of them.
 */
@Injectable()
export class InstanceRegistry implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(InstanceRegistry.name);
  private readonly key: string;
  private readonly startedAt = new Date().toISOString();

  constructor(
    private readonly config: AppConfig,
    private readonly sampler: RuntimeSampler,
    @Inject(REDIS) private readonly redis: RedisClient,
  ) {
    this.key = instancesKey(config.redis.prefix);
  }

  onModuleInit(): void {
    this.sampler.onSample((sample) => void this.publish(sample));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis.hdel(this.key, this.config.instanceId).catch(() => undefined);
  }

  report(sample: RuntimeSample = this.sampler.latest()): InstanceReport {
    const m = this.sampler.memory();
    return {
      instance: this.config.instanceId,
      pid: process.pid,
      startedAt: this.startedAt,
      sample,
      memory: { rssBytes: m.rssBytes, heapUsedBytes: m.heapUsedBytes, heapLimitBytes: m.heapLimitBytes },
    };
  }

  async cluster(): Promise<InstanceReport[]> {
    const { live, stale } = liveReports(await this.redis.hgetall(this.key), Date.now());
    if (stale.length) await this.redis.hdel(this.key, ...stale).catch(() => undefined);
    // This process is always part of the answer, even before its first publish.
    if (!live.some((r) => r.instance === this.config.instanceId)) live.push(this.report());
    return live;
  }

  private async publish(sample: RuntimeSample): Promise<void> {
    try {
      await this.redis.hset(this.key, this.config.instanceId, JSON.stringify(this.report(sample)));
    } catch (err) {
      this.logger.debug({ err: (err as Error).message }, 'could not publish the runtime sample');
    }
  }
}
