export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

export interface BatcherOptions {
  /** How long the first item of a batch waits for company. 0 sends every item on its own, at once. */
  windowMs: number;
  /** A batch this full goes out without waiting for the window to end. */
  maxSize: number;
}

interface Pending<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

/**
 * Collects items that arrive within `windowMs` of the first one and hands
 * them to `flush` as one array; each caller gets its own item's outcome.
 * The window is fixed (it starts with the batch's first item), so no item
 * waits longer than `windowMs` for the batch to leave.
 */
export class MicroBatcher<I, O> {
  private pending: Array<Pending<I, O>> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly opts: BatcherOptions,
    private readonly flush: (items: I[]) => Promise<Array<Settled<O>>>,
  ) {}

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.opts.windowMs <= 0 || this.pending.length >= this.opts.maxSize) this.dispatch();
      else this.timer ??= setTimeout(() => this.dispatch(), this.opts.windowMs);
    });
  }

  /** Sends whatever is waiting now (used on shutdown too). */
  dispatch(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (!batch.length) return;
    this.flush(batch.map((p) => p.item)).then(
      (results) =>
        batch.forEach((p, i) => {
          const r = results[i];
          if (r?.ok) p.resolve(r.value);
          else p.reject(r ? r.error : new Error('batch flush returned no result for an item'));
        }),
      (error: unknown) => batch.forEach((p) => p.reject(error)),
    );
  }
}
