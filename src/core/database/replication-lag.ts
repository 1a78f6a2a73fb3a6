import { covers, GtidPosition, samePosition } from './gtid';

/** ok: takes reads; lagging: further behind than DB_REPLICA_MAX_LAG_S; down: does not answer; unknown: its lag cannot be told. */
export type ReplicaState = 'ok' | 'lagging' | 'down' | 'unknown';

interface Seen {
  pos: GtidPosition;
  firstAt: number;
  lastAt: number;
}

/**
 * The primary's GTID position over time, sampled by this process once a second. A replica whose
 * applied position (`@@gtid_slave_pos`) covers the position sampled at time t holds every write
 * committed before t, so what it serves is at most (now - t) old. This measures the data a read
 * would see, which Seconds_Behind_Master does not: that one is NULL whenever a thread is stopped,
 * 0 while the IO thread has fallen behind or is stuck, and counts from event timestamps.
 */
export class PrimaryPositions {
  private readonly seen: Seen[] = [];
  private lastOkAt?: number;
  private reachable = false;

  /** Samples older than horizonMs are dropped (a replica that covers none of them is lagging anyway). */
  constructor(private readonly horizonMs: number) {}

  /** `at` is taken before the query was sent: the position includes every commit before it. */
  record(pos: GtidPosition, at: number): void {
    const last = this.seen[this.seen.length - 1];
    if (last && samePosition(last.pos, pos)) last.lastAt = at;
    else this.seen.push({ pos, firstAt: at, lastAt: at });
    this.lastOkAt = at;
    this.reachable = true;
    while (this.seen.length > 1 && this.seen[0].lastAt < at - this.horizonMs) this.seen.shift();
  }

  unreachable(): void {
    this.reachable = false;
  }

  get known(): boolean {
    return this.seen.length > 0;
  }

  get oldestAt(): number | undefined {
    return this.seen[0]?.firstAt;
  }

  /** The latest time the primary was at a position the replica has applied; undefined when it covers none kept. */
  coveredAt(replica: GtidPosition): number | undefined {
    for (let i = this.seen.length - 1; i >= 0; i--) if (covers(replica, this.seen[i].pos)) return this.seen[i].lastAt;
    return undefined;
  }

  /**
   * "Now", for lag. While the primary cannot be sampled nothing newer than its last position can be
   * known (and it takes no writes from us), so a replica that had caught up keeps serving reads
   * during a primary outage instead of every read failing with it.
   */
  reference(now: number): number {
    return this.reachable || this.lastOkAt === undefined ? now : this.lastOkAt;
  }
}

/** What one probe of a replica saw. */
export interface ReplicaObservation {
  reachable: boolean;
  ioThread: string | null;
  sqlThread: string | null;
  secondsBehindMaster: number | null;
  /** `@@gtid_slave_pos` (MariaDB); absent on MySQL. */
  position?: GtidPosition;
  at: number;
  error?: string;
}

export interface LagVerdict {
  state: ReplicaState;
  inPool: boolean;
  lagSeconds: number | null;
}

const seconds = (ms: number) => Math.round(ms / 10) / 100;

function byLag(lagMs: number, maxLagMs: number): LagVerdict {
  const ok = maxLagMs === 0 || lagMs <= maxLagMs;
  return { state: ok ? 'ok' : 'lagging', inPool: ok, lagSeconds: seconds(lagMs) };
}

/**
 * Whether a replica may take a read now. Pure: the same rule for /up, the metrics and every read.
 * With the primary's positions known, lag is (now - the last time the primary was at a position the
 * replica has applied); without them (MySQL, or the primary never answered) Seconds_Behind_Master,
 * aged by the time since the probe, and a stopped thread (NULL) keeps the replica out.
 * maxLagMs 0: lag is reported but only reachability counts.
 */
export function judgeReplica(o: ReplicaObservation | undefined, coveredAt: number | undefined, primary: PrimaryPositions, now: number, maxLagMs: number): LagVerdict {
  if (!o) return { state: 'unknown', inPool: false, lagSeconds: null };
  if (!o.reachable) return { state: 'down', inPool: false, lagSeconds: null };
  if (primary.known && o.position) {
    const reference = primary.reference(now);
    if (coveredAt === undefined) return { state: 'lagging', inPool: maxLagMs === 0, lagSeconds: seconds(reference - (primary.oldestAt ?? reference)) };
    return byLag(Math.max(0, reference - coveredAt), maxLagMs);
  }
  if (o.secondsBehindMaster === null || o.ioThread !== 'Yes' || o.sqlThread !== 'Yes') return { state: 'unknown', inPool: maxLagMs === 0, lagSeconds: null };
  return byLag(o.secondsBehindMaster * 1000 + Math.max(0, now - o.at), maxLagMs);
}
