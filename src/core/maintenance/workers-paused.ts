import type { WorkerStatus } from '../queue/worker/worker-heartbeat';

/** How long `down` waits for the workers: one control poll (1 s), the beat it triggers, and margin for a loaded machine. */
export const PAUSE_WAIT_MS = 5000;
const LOOK_EVERY_MS = 100;

export interface PauseOutcome {
  /** Workers that said they take no new job (paused or stopping). */
  paused: WorkerStatus[];
  /** Started with --force: they keep working, by design. */
  forced: WorkerStatus[];
  /** Still said `running` when the wait ended. */
  pending: WorkerStatus[];
}

/** Splits the live workers by what they last said. */
export function pauseOutcome(workers: WorkerStatus[]): PauseOutcome {
  const out: PauseOutcome = { paused: [], forced: [], pending: [] };
  for (const w of workers) {
    if (w.force) out.forced.push(w);
    else if (w.state === 'running') out.pending.push(w);
    else out.paused.push(w);
  }
  return out;
}

/**
 * After `down` wrote the flag: waits until every live worker has said (in its heartbeat) that it
 * takes no new job, so a job dispatched once `down` returned stays queued — what an operator running a
 * migration right after `down` counts on (Laravel's workers check the flag before each job). Bounded:
 * a worker that does not answer is reported, not waited for forever.
 */
export async function waitForWorkersToPause(
  list: () => Promise<WorkerStatus[]>,
  timeoutMs = PAUSE_WAIT_MS,
  sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
  now = Date.now,
): Promise<PauseOutcome> {
  const deadline = now() + timeoutMs;
  for (;;) {
    const outcome = pauseOutcome(await list());
    if (outcome.pending.length === 0 || now() >= deadline) return outcome;
    await sleep(LOOK_EVERY_MS);
  }
}
