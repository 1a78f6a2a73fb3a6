/**
 * Sending many clients away at once makes a reconnect herd: every one of them handshakes on the other
 * processes within the same second or two (socket.io-client's first retry is 0.5–1.5 s), and a
 * handshake costs ours ~5 ms of CPU (bench/RESULTS.md, "Phase 3 scale"), so 1,000 sockets closed
 * together are seconds of CPU asked of the rest of the cluster in one go — what took a rolling restart
 * and a Sentinel failover down on this machine. So a process that must close many sockets closes them
 * in random order at a bounded rate: CLOSES_PER_SECOND, the whole set within MAX_SPREAD_MS.
 */
export const CLOSES_PER_SECOND = 100;
export const MAX_SPREAD_MS = 30000;
const TICK_MS = 100;

export interface SpreadOptions {
  perSecond?: number;
  maxMs?: number;
  random?: () => number;
}

/** Closes under way: `cancel` keeps the ones not yet closed (the reason went away); `done` resolves when none is left. */
export interface SpreadClose {
  readonly pending: number;
  cancel(): number;
  readonly done: Promise<void>;
}

/** How long closing `count` sockets takes at the rate above. */
export function spreadWindowMs(count: number, perSecond = CLOSES_PER_SECOND, maxMs = MAX_SPREAD_MS): number {
  return Math.min(maxMs, Math.ceil((count * 1000) / perSecond));
}

/** Runs each of `closes` once, in random order, a batch every TICK_MS, all within spreadWindowMs. */
export function spreadCloses(closes: (() => void)[], opts: SpreadOptions = {}): SpreadClose {
  const random = opts.random ?? Math.random;
  const queue = [...closes];
  for (let i = queue.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [queue[i], queue[j]] = [queue[j], queue[i]];
  }
  const ticks = Math.max(1, Math.ceil(spreadWindowMs(queue.length, opts.perSecond, opts.maxMs) / TICK_MS));
  const perTick = Math.ceil(queue.length / ticks);
  let next = 0;
  let timer: NodeJS.Timeout | undefined;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const tick = (): void => {
    const end = Math.min(queue.length, next + perTick);
    for (; next < end; next++) {
      try {
        queue[next]();
      } catch {
        // a socket that is already gone: nothing to close
      }
    }
    if (next < queue.length) timer = setTimeout(tick, TICK_MS);
    else finish();
  };
  if (queue.length) timer = setTimeout(tick, TICK_MS);
  else finish();
  return {
    get pending() {
      return queue.length - next;
    },
    cancel() {
      clearTimeout(timer);
      const kept = queue.length - next;
      next = queue.length;
      finish();
      return kept;
    },
    done,
  };
}
