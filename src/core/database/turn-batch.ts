/** Keys per load; a fuller turn starts another batch. */
const MAX_BATCH = 200;

interface Waiter<V> {
  resolve: (value: V) => void;
  reject: (err: unknown) => void;
}

/** `waiters[i]` asked for `keys[i]`. */
interface Batch<K, V> {
  keys: K[];
  waiters: Waiter<V>[];
}

/**
 * Point lookups from any number of callers, answered by one `load` of every
 * key asked for in the same turn of the event loop (sent at setImmediate):
 * BatchedReads' one MGET per turn for Redis GETs, and a connection storm's room
 * checks in one statement instead of one each (each statement is a write to the
 * database socket and a result set to parse, bench:setup). Nothing is cached:
 * every answer is read after its caller asked, so a change committed before the
 * call (a member removed) is always seen.
 */
export class TurnBatch<K, V> {
  private open: Batch<K, V> | null = null;

  /** `load(keys)` answers `keys[i]` with `values[i]`. */
  constructor(
    private readonly load: (keys: K[]) => Promise<V[]>,
    private readonly maxBatch = MAX_BATCH,
  ) {}

  get(key: K): Promise<V> {
    let batch = this.open;
    if (!batch || batch.keys.length >= this.maxBatch) {
      const fresh: Batch<K, V> = (batch = this.open = { keys: [], waiters: [] });
      setImmediate(() => this.send(fresh));
    }
    const { keys, waiters } = batch;
    return new Promise((resolve, reject) => {
      keys.push(key);
      waiters.push({ resolve, reject });
    });
  }

  private send(batch: Batch<K, V>): void {
    if (this.open === batch) this.open = null;
    // A load that throws instead of rejecting fails its batch the same way.
    new Promise<V[]>((resolve) => resolve(this.load(batch.keys))).then(
      (values) => batch.waiters.forEach((w, i) => w.resolve(values[i])),
      (err: unknown) => {
        for (const w of batch.waiters) w.reject(err);
      },
    );
  }
}
