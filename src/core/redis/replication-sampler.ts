/** What `INFO replication` says about the primary a connection writes to. */
export interface ReplicationSample {
  /** The primary's replication id: a promoted replica starts a new one. */
  replId: string;
  /** Replicas whose link is up and synced (state=online): the ones that can acknowledge a WAIT. */
  onlineReplicas: number;
}

/** What ReplicationSampler needs of a ReplicaConfirmation (a fake in the spec). */
export interface SampledConnection {
  /** host:port of the Redis server the connection's writes go to now; undefined while it is not connected there. */
  server(): Promise<string | undefined>;
  /** Sends one `INFO replication` on this connection and records the answer here and in `alsoFor` (still on the same server). */
  sample(alsoFor: readonly SampledConnection[]): Promise<unknown>;
  /** Takes a sample another connection on the same server made. */
  record(sample: ReplicationSample, at: number): void;
}

/**
 * Samples the primaries behind many ReplicaConfirmations with one `INFO replication` per server and
 * period. queue:work has one confirmation per queue (each on its queue's connection) and the producer's,
 * all normally on the same primary, and each sampled on its own: three INFOs a second in an idle worker
 * on two queues. INFO replication describes the server, not the connection, so connections found on the
 * same server (address and port) share one answer, and each still records it in its own ReplicaHighWater:
 * what a confirmation remembers is what its own INFO would have said. A connection on another server (a
 * failover moves connections one at a time) or not connected is sampled on its own.
 */
export class ReplicationSampler {
  private readonly members = new Set<SampledConnection>();
  private timer?: NodeJS.Timeout;

  constructor(readonly everyMs = 1000) {}

  /** Sampled from now on, once at once. */
  add(member: SampledConnection): void {
    this.members.add(member);
    if (!this.timer) {
      this.timer = setInterval(() => void this.tick(), this.everyMs);
      this.timer.unref();
    }
    void member.sample([]).catch(() => undefined);
  }

  remove(member: SampledConnection): void {
    this.members.delete(member);
    if (this.members.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private async tick(): Promise<void> {
    const byServer = new Map<string, SampledConnection[]>();
    const alone: SampledConnection[] = [];
    await Promise.all(
      [...this.members].map(async (member) => {
        const server = await member.server().catch(() => undefined);
        if (server === undefined) alone.push(member);
        else {
          const group = byServer.get(server);
          if (group) group.push(member);
          else byServer.set(server, [member]);
        }
      }),
    );
    for (const member of alone) void member.sample([]).catch(() => undefined);
    for (const [first, ...rest] of byServer.values()) void first.sample(rest).catch(() => undefined);
  }
}
