import Redis, { Cluster } from 'ioredis';
import type { RedisClient } from './redis.factory';
import { ReplicationSample, ReplicationSampler, SampledConnection } from './replication-sampler';

export type { ReplicationSample } from './replication-sampler';

/** `INFO replication` text → sample; null when the connection is not on a primary. */
export function parseReplicationInfo(info: string): ReplicationSample | null {
  const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  if (field('role') !== 'master') return null;
  const replId = field('master_replid');
  if (!replId) return null;
  const onlineReplicas = info.split('\n').filter((l) => /^slave\d+:.*state=online/.test(l)).length;
  return { replId, onlineReplicas };
}

/**
 * How many replicas a write must reach before it is acknowledged: every replica seen online on this
 * primary within `memoryMs`, and at least `minReplicas`.
 *
 * Why a memory, not the count right now: during `SENTINEL FAILOVER` the sentinels promote one replica
 * (which leaves the old primary at once) and only then, about a second later, move the other one and
 * the clients. In that second the old primary still takes writes and its one remaining replica still
 * acknowledges them — and both are thrown away when that replica resyncs from the new primary. Waiting
 * for the replicas the primary *had* refuses exactly those writes. A replica that really left costs
 * `memoryMs` of refused writes; samples of an earlier primary (another replication id) do not count.
 */
export class ReplicaHighWater {
  private samples: Array<{ at: number; sample: ReplicationSample }> = [];
  /**
   * The last answer, which holds for its primary from `from` until `until` (the first of its samples
   * leaves the memory then) or the next sample: queue:work asks before every job (per lane), and
   * filtering the samples each time was ~1 µs of a trivial job (bench/queues).
   */
  private answer: { replId: string; from: number; until: number; required: number | null } | undefined;

  constructor(
    private readonly minReplicas: number,
    private readonly memoryMs: number,
  ) {}

  record(sample: ReplicationSample, at: number): void {
    this.samples = this.samples.filter((s) => s.sample.replId === sample.replId && at - s.at <= this.memoryMs);
    this.samples.push({ at, sample });
    this.answer = undefined;
  }

  /** Replicas to wait for on the primary with `replId`, or null when it has no recent sample. */
  required(replId: string, at: number): number | null {
    const known = this.answer;
    if (known && known.replId === replId && at >= known.from && at <= known.until) return known.required;
    let required: number | null = null;
    let until = Infinity;
    for (const s of this.samples) {
      if (s.sample.replId !== replId || at - s.at > this.memoryMs) continue;
      required = Math.max(required ?? this.minReplicas, s.sample.onlineReplicas);
      until = Math.min(until, s.at + this.memoryMs);
    }
    this.answer = { replId, from: at, until, required };
    return required;
  }

  /** The newest sample, whatever its primary, and when it was taken. */
  latest(): { at: number; sample: ReplicationSample } | undefined {
    return this.samples.at(-1);
  }
}

export interface ReplicaConfirmationOptions {
  /** Replicas that must confirm even when none was seen (0: a primary without replicas acknowledges alone). */
  minReplicas: number;
  /** WAIT's timeout. */
  timeoutMs: number;
  /** A key whose slot the writes go to: on a Cluster, WAIT is sent to that slot's master. */
  slotKey: string;
  /** How long a replica seen online is still waited for (see ReplicaHighWater). */
  memoryMs?: number;
  /** How often the primary's replicas are sampled (without `sampler`). */
  sampleEveryMs?: number;
  /** Samples shared with the process's other confirmations (one INFO per server and period); else one of its own. */
  sampler?: ReplicationSampler;
  /**
   * Called once per primary (replication id) whose sample shows no replica online while writes go
   * unconfirmed for it (minReplicas 0): a Cluster master whose replica died, a Sentinel primary that lost both.
   */
  onNoReplica?: (replId: string) => void;
}

/**
 * Not enough replicas confirmed in time: the write may not survive a failover. `moved`: the connection
 * the writes went over was replaced (a failover or reconnect) before the WAIT could count them.
 */
export class ReplicaConfirmationError extends Error {
  constructor(
    readonly required: number,
    readonly confirmed: number,
    why = `${confirmed} of ${required} Redis replica(s) confirmed the write`,
    readonly code: 'short' | 'moved' = 'short',
  ) {
    super(why);
    this.name = 'ReplicaConfirmationError';
  }
}

const SLOTS_REFRESH_TIMEOUT_MS = 2000;

/** Asks the cluster which node serves which slot (ioredis dedupes concurrent refreshes); a failure leaves the old map. */
function refreshSlots(cluster: Cluster, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    cluster.refreshSlotsCache(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The server a connected node talks to (its socket's peer); undefined while it is not ready. */
function serverOf(node: Redis): string | undefined {
  if (node.status !== 'ready') return undefined;
  const stream = node.stream as { remoteAddress?: string; remotePort?: number } | undefined;
  return stream?.remoteAddress && stream.remotePort ? `${stream.remoteAddress}:${stream.remotePort}` : undefined;
}

const movedError = (required: number) => new ReplicaConfirmationError(required, 0, 'the Redis connection changed under the write (failover)', 'moved');

/** Which connection the writes went over (ReplicaConfirmation.mark, before writing). */
export interface WriteMark {
  node: Redis;
  generation: number;
}

/**
 * Redis replicates asynchronously: a write acknowledged by the primary is lost when a replica that
 * had not received it is promoted. `confirm()` (after the writes, on the connection that made them)
 * sends `WAIT <n> <timeout>`, which returns once n replicas hold every earlier write of that
 * connection, and rejects when fewer did. Sentinel promotes the replica with the largest replication
 * offset, so a write one replica holds survives a kill -9 of the primary; n is every replica recently
 * online (ReplicaHighWater), which also covers a manual `SENTINEL FAILOVER`. A Cluster's replica
 * failover (`CLUSTER FAILOVER`) is coordinated and loses nothing; its kill -9 is the first case.
 */
export class ReplicaConfirmation implements SampledConnection {
  private readonly highWater: ReplicaHighWater;
  private slot?: number;
  private readonly sampler: ReplicationSampler;
  private started = false;
  private sampling?: Promise<ReplicationSample | null>;
  private readonly sampleEveryMs: number;
  /** The primary (replication id) onNoReplica was last called for. */
  private warnedNoReplica?: string;
  /** Connections of a node so far: WAIT only counts the writes of the connection it is sent on. */
  private readonly generations = new WeakMap<Redis, number>();

  constructor(
    private readonly client: RedisClient,
    private readonly opts: ReplicaConfirmationOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.highWater = new ReplicaHighWater(opts.minReplicas, opts.memoryMs ?? 10000);
    this.sampler = opts.sampler ?? new ReplicationSampler(opts.sampleEveryMs ?? 1000);
    this.sampleEveryMs = this.sampler.everyMs;
  }

  /** Starts sampling the primary's replicas (the sampler's unref'd timer). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.sampler.add(this);
  }

  stop(): void {
    this.started = false;
    this.sampler.remove(this);
  }

  /** Replicas a write needs now by the timer's fresh sample (0: nothing to wait for), or null without one. */
  requiredNow(): number | null {
    const fresh = this.highWater.latest();
    if (!fresh || this.now() - fresh.at > 2 * this.sampleEveryMs) return null;
    return this.highWater.required(fresh.sample.replId, this.now());
  }

  /**
   * The fresh sample shows fewer replicas online than the minimum: they are gone (a Cluster master whose
   * replica died), not lagging behind a failover (the old primary then still lists its replicas).
   */
  replicasMissing(): boolean {
    const fresh = this.highWater.latest();
    return fresh !== undefined && this.now() - fresh.at <= 2 * this.sampleEveryMs && fresh.sample.onlineReplicas < this.opts.minReplicas;
  }

  /** Call before the writes to confirm: the connection they will go over. */
  async mark(): Promise<WriteMark> {
    const node = await this.node();
    return { node, generation: this.generation(node) };
  }

  /**
   * Resolves once enough replicas hold every write made since `mark` on that connection; rejects with
   * ReplicaConfirmationError when fewer confirmed within the timeout, or when the connection changed
   * in between (a failover moved it: WAIT on the new connection would count none of those writes and
   * answer at once), or with Redis' own error.
   */
  async confirm(mark: WriteMark): Promise<{ required: number; confirmed: number }> {
    const node = await this.node();
    const moved = () => node !== mark.node || this.generation(node) !== mark.generation;
    if (moved()) throw movedError(1);
    // The timer's sample when it is fresh: an INFO per write would queue behind every WAIT.
    const fresh = this.highWater.latest();
    const sample = fresh && this.now() - fresh.at <= 2 * this.sampleEveryMs ? fresh.sample : await this.sample();
    if (!sample) throw new ReplicaConfirmationError(Math.max(1, this.opts.minReplicas), 0);
    const required = this.highWater.required(sample.replId, this.now()) ?? Math.max(this.opts.minReplicas, sample.onlineReplicas);
    if (required === 0) return { required, confirmed: 0 };
    const confirmed = Number(await node.call('WAIT', required, this.opts.timeoutMs));
    // A WAIT resent after a reconnect (ioredis does that) answered for another connection.
    if (moved()) throw movedError(required);
    if (confirmed < required) throw new ReplicaConfirmationError(required, confirmed);
    return { required, confirmed };
  }

  private generation(node: Redis): number {
    let n = this.generations.get(node);
    if (n === undefined) {
      n = 0;
      this.generations.set(node, n);
      node.on('ready', () => this.generations.set(node, (this.generations.get(node) ?? 0) + 1));
    }
    return n;
  }

  /** host:port of the server the writes go to now (ReplicationSampler groups by it); undefined while not connected. */
  async server(): Promise<string | undefined> {
    return serverOf(await this.node());
  }

  /**
   * One INFO at a time; callers in between share it (then `alsoFor` waits for the next period). The answer
   * is recorded in `alsoFor` too, each of which is checked to be on the server that answered.
   */
  sample(alsoFor: readonly SampledConnection[] = []): Promise<ReplicationSample | null> {
    this.sampling ??= (async () => {
      try {
        const node = await this.node();
        const server = serverOf(node);
        const sample = parseReplicationInfo(String(await node.call('INFO', 'replication')));
        if (sample) {
          const at = this.now();
          this.record(sample, at);
          if (server !== undefined && serverOf(node) === server) {
            for (const other of alsoFor) {
              if (other !== this && (await other.server().catch(() => undefined)) === server) other.record(sample, at);
            }
          }
        }
        return sample;
      } finally {
        this.sampling = undefined;
      }
    })();
    return this.sampling;
  }

  record(sample: ReplicationSample, at: number): void {
    this.highWater.record(sample, at);
    if (this.highWater.required(sample.replId, at) === 0 && this.warnedNoReplica !== sample.replId) {
      this.warnedNoReplica = sample.replId;
      this.opts.onNoReplica?.(sample.replId);
    }
  }

  /** The connection the writes went over: the client itself, or on a Cluster the master of the slot. */
  private async node(): Promise<Redis> {
    const cluster = this.client;
    if (!(cluster instanceof Cluster)) return cluster;
    const slot = (this.slot ??= Number(await cluster.call('CLUSTER', 'KEYSLOT', this.opts.slotKey)));
    const master = () => {
      const key = cluster.slots[slot]?.[0];
      return cluster.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === key);
    };
    let node = master();
    if (!node) {
      // The slot's master is gone (kill -9) and ioredis only asks the cluster for its slots again when a
      // command fails: with every write here asking for the master first, none was sent, and dispatches
      // were refused until the dead node came back (12 s in the Cluster kill drill). Ask, then look again.
      await refreshSlots(cluster, SLOTS_REFRESH_TIMEOUT_MS);
      node = master();
    }
    if (!node) throw new ReplicaConfirmationError(Math.max(1, this.opts.minReplicas), 0, 'no master is known for the queues’ slot (Redis Cluster failing over)');
    return node;
  }
}

/**
 * One WAIT for many writers of one connection: every `confirm` of an event-loop turn shares a single
 * `ReplicaConfirmation.confirm`, sent after all their writes (each caller has seen its write answered),
 * so it covers them all. A worker finishing many jobs at once pays one WAIT per turn, not one per job.
 */
export class BatchedConfirmation {
  private waiting: Array<{ mark: WriteMark; resolve: () => void; reject: (err: unknown) => void }> = [];
  private scheduled = false;

  constructor(private readonly confirmation: Pick<ReplicaConfirmation, 'mark' | 'confirm'>) {}

  mark(): Promise<WriteMark> {
    return this.confirmation.mark();
  }

  /** Resolves once the replicas hold every write made since `mark` (call it after those writes were answered). */
  confirm(mark: WriteMark): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ mark, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.waiting;
    this.waiting = [];
    const first = batch[0].mark;
    this.confirmation.confirm(first).then(
      ({ required }) => {
        // A write marked on another connection (one a failover replaced) is not covered by this WAIT.
        for (const w of batch) {
          if (w.mark.node === first.node && w.mark.generation === first.generation) w.resolve();
          else w.reject(movedError(required));
        }
      },
      (err: unknown) => batch.forEach((w) => w.reject(err)),
    );
  }
}

/** On a topology with replicas (Sentinel, Cluster), the warning ReplicaConfirmation's onNoReplica gives; undefined with one Redis. */
export function noReplicaWarning(
  redis: { sentinels?: unknown[]; clusterNodes?: unknown[] },
  warn: (fields: object, message: string) => void,
  what: string,
): ((replId: string) => void) | undefined {
  if (!redis.sentinels?.length && !redis.clusterNodes?.length) return undefined;
  return (replId) =>
    warn({ replId }, `the Redis primary of the queues has no replica online: ${what} stand on it alone until one is back (a second failure before then can lose them; QUEUE_DISPATCH_MIN_REPLICAS=1 refuses them instead)`);
}
