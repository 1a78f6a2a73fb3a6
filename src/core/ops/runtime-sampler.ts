import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { constants, EventLoopUtilization, Histogram, monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { availableParallelism } from 'node:os';
import { getHeapStatistics } from 'node:v8';

export interface LoopDelayMs {
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface RuntimeSample {
  /** When the window ended (ISO 8601) and how long it was. */
  at: string;
  windowMs: number;
  eventLoop: { delayMs: LoopDelayMs; utilization: number };
  cpu: { userPercent: number; systemPercent: number; cores: number };
}

export interface GcTotals {
  count: number;
  durationMs: number;
  byKind: Record<string, { count: number; durationMs: number }>;
}

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

const round = (n: number, digits = 2) => (Number.isFinite(n) ? Math.round(n * 10 ** digits) / 10 ** digits : 0);
const nsToMs = (ns: number) => round(ns / 1e6, 3);

/** Event-loop delay percentiles in milliseconds from a perf_hooks histogram (nanoseconds). */
export function loopDelayMs(h: Pick<Histogram, 'min' | 'mean' | 'max' | 'percentile' | 'count'>): LoopDelayMs {
  if (!h.count) return { min: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  return { min: nsToMs(h.min), mean: nsToMs(h.mean), p50: nsToMs(h.percentile(50)), p90: nsToMs(h.percentile(90)), p99: nsToMs(h.percentile(99)), max: nsToMs(h.max) };
}

/** CPU use over a window as a percentage of one core (so 150 means one and a half cores busy). */
export function cpuPercent(usage: NodeJS.CpuUsage, windowMs: number): { userPercent: number; systemPercent: number } {
  if (windowMs <= 0) return { userPercent: 0, systemPercent: 0 };
  return { userPercent: round((usage.user / 1000 / windowMs) * 100), systemPercent: round((usage.system / 1000 / windowMs) * 100) };
}

/**
 * This process's runtime figures, in fixed windows (SAMPLE_WINDOW_MS): event-loop delay
 * (monitorEventLoopDelay) and utilisation (eventLoopUtilization), CPU (process.cpuUsage), and
 * garbage collection since start (a PerformanceObserver on 'gc' entries).
 */
@Injectable()
export class RuntimeSampler implements OnModuleInit, OnModuleDestroy {
  static readonly SAMPLE_WINDOW_MS = 5000;
  private readonly histogram = monitorEventLoopDelay({ resolution: 10 });
  private readonly gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) this.recordGc((entry as { detail?: { kind?: number } }).detail, entry.duration);
  });
  private readonly gc: GcTotals = { count: 0, durationMs: 0, byKind: {} };
  private timer?: NodeJS.Timeout;
  private windowStart = performance.now();
  private lastElu: EventLoopUtilization = performance.eventLoopUtilization();
  private lastCpu = process.cpuUsage();
  private latestSample?: RuntimeSample;
  private readonly listeners: Array<(s: RuntimeSample) => void> = [];

  onModuleInit(): void {
    this.histogram.enable();
    this.gcObserver.observe({ entryTypes: ['gc'] });
    this.timer = setInterval(() => this.sample(), RuntimeSampler.SAMPLE_WINDOW_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
    this.histogram.disable();
    this.gcObserver.disconnect();
  }

  /** Called with every finished window (the cluster registry publishes it). */
  onSample(listener: (s: RuntimeSample) => void): void {
    this.listeners.push(listener);
  }

  /** The last full window, or the one in progress right after start. */
  latest(): RuntimeSample {
    return this.latestSample ?? this.current();
  }

  memory() {
    const m = process.memoryUsage();
    const heap = getHeapStatistics();
    return {
      rssBytes: m.rss,
      heapUsedBytes: m.heapUsed,
      heapTotalBytes: m.heapTotal,
      heapLimitBytes: heap.heap_size_limit,
      heapUsedPercent: round((m.heapUsed / heap.heap_size_limit) * 100),
      externalBytes: m.external,
      arrayBuffersBytes: m.arrayBuffers,
    };
  }

  /**
   * What keeps the event loop alive, by kind (`Timeout`, `TCPSocketWrap`, ...): a count that only
   * grows after clients left is a leak of timers or sockets (issue 19).
   */
  activeResources(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
    return counts;
  }

  gcTotals(): GcTotals {
    return { count: this.gc.count, durationMs: round(this.gc.durationMs, 3), byKind: structuredClone(this.gc.byKind) };
  }

  private recordGc(detail: { kind?: number } | undefined, durationMs: number): void {
    const kind = GC_KINDS[detail?.kind ?? -1] ?? 'other';
    this.gc.count++;
    this.gc.durationMs += durationMs;
    const k = (this.gc.byKind[kind] ??= { count: 0, durationMs: 0 });
    k.count++;
    k.durationMs = round(k.durationMs + durationMs, 3);
  }

  private current(): RuntimeSample {
    const now = performance.now();
    const windowMs = now - this.windowStart;
    const elu = performance.eventLoopUtilization(this.lastElu);
    return {
      at: new Date().toISOString(),
      windowMs: Math.round(windowMs),
      eventLoop: { delayMs: loopDelayMs(this.histogram), utilization: round(elu.utilization, 4) },
      cpu: { ...cpuPercent(process.cpuUsage(this.lastCpu), windowMs), cores: availableParallelism() },
    };
  }

  private sample(): void {
    this.latestSample = this.current();
    this.windowStart = performance.now();
    this.lastElu = performance.eventLoopUtilization();
    this.lastCpu = process.cpuUsage();
    this.histogram.reset();
    for (const l of this.listeners) l(this.latestSample);
  }
}
