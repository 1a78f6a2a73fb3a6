/**
 * The local copies behind BatchedReads' server-assisted client-side caching
 * (Redis CLIENT TRACKING): pure bookkeeping, no I/O, so the races are unit
 * tested. Redis tells us (invalidate) whenever a key we read changes; this
 * class decides what may be served from memory:
 *
 * - nothing while tracking is not confirmed (`live`), and everything is
 *   dropped when it is lost (a connection closed: invalidations may be gone);
 * - a value read while an invalidation of its key arrived (the reply and the
 *   invalidation travel on different connections) is used once, not kept;
 * - a read begun before tracking was lost or re-established is not kept;
 * - present values are kept at most `presentMs`: Redis sends no invalidation
 *   when a key's TTL runs out until it actually deletes it, so an expiring
 *   session or read-your-writes mark outlives its TTL by at most that;
 * - absent keys are kept at most `absentMs` (a bound in case anything is
 *   missed; every write of the key invalidates it at once).
 */
export interface ReadCacheOptions {
  maxEntries: number;
  presentMs: number;
  absentMs: number;
}

export interface ReadTicket {
  readonly epoch: number;
  /** The keys whose reply this read may keep (a key another read had in flight is not one). */
  readonly owned: string[];
}

interface Entry {
  value: string | null;
  until: number;
}

export class ReadCache {
  private readonly entries = new Map<string, Entry>();
  /** Keys in flight -> invalidated since the read was sent. */
  private readonly pending = new Map<string, boolean>();
  private epoch = 0;
  private live = false;

  constructor(private readonly opts: ReadCacheOptions) {}

  get isLive(): boolean {
    return this.live;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The kept value (null: the key does not exist), or undefined: ask Redis. */
  lookup(key: string, now: number): string | null | undefined {
    if (!this.live) return undefined;
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.until > now) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  /** Before reading `keys` on the tracked connection; null when nothing read now may be kept. */
  begin(keys: readonly string[]): ReadTicket | null {
    if (!this.live) return null;
    const owned: string[] = [];
    for (const key of keys) {
      if (this.pending.has(key)) continue;
      this.pending.set(key, false);
      owned.push(key);
    }
    return { epoch: this.epoch, owned };
  }

  /** The reply to a read begun with `ticket`: `values[i]` is the value of `keys[i]`. */
  settle(ticket: ReadTicket | null, keys: readonly string[], values: readonly (string | null)[], now: number): void {
    if (!ticket || ticket.epoch !== this.epoch) return;
    const replied = new Map<string, string | null>();
    keys.forEach((key, i) => replied.set(key, values[i] ?? null));
    for (const key of ticket.owned) {
      const invalidated = this.pending.get(key);
      this.pending.delete(key);
      if (invalidated === false && replied.has(key)) this.keep(key, replied.get(key) ?? null, now);
    }
  }

  /** The read failed: its keys are no longer in flight. */
  abandon(ticket: ReadTicket | null): void {
    if (!ticket || ticket.epoch !== this.epoch) return;
    for (const key of ticket.owned) this.pending.delete(key);
  }

  /** Redis says these keys changed; null: everything may have (FLUSHALL, tracking table full). */
  invalidate(keys: readonly string[] | null): void {
    if (keys === null) {
      this.entries.clear();
      for (const key of this.pending.keys()) this.pending.set(key, true);
      return;
    }
    for (const key of keys) {
      this.entries.delete(key);
      if (this.pending.has(key)) this.pending.set(key, true);
    }
  }

  /** Tracking confirmed on the reading connection, redirected to a subscribed one. */
  goLive(): void {
    this.epoch++;
    this.live = true;
  }

  /** Either connection closed or tracking could not be set up: forget everything. */
  lose(): void {
    this.epoch++;
    this.live = false;
    this.entries.clear();
    this.pending.clear();
  }

  private keep(key: string, value: string | null, now: number): void {
    if (this.entries.size >= this.opts.maxEntries && !this.entries.has(key)) {
      // Oldest first (a Map iterates in insertion order).
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { value, until: now + (value === null ? this.opts.absentMs : this.opts.presentMs) });
  }
}
