import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * One HTTP request, one socket event or one job. Reads go to a replica until
 * the unit writes (Laravel's sticky option); a user inside the read-your-writes
 * window reads the primary from the first query on.
 */
export interface UnitOfWork {
  wrote: boolean;
  userId?: string;
  /** The HTTP request's id (nginx's X-Request-Id or our own), on every log line written within the unit. */
  requestId?: string;
  /** The user wrote within DB_STICKY_WINDOW_MS (on any process). */
  userWithinWindow: boolean;
}

const storage = new AsyncLocalStorage<UnitOfWork>();

export function runUnitOfWork<T>(fn: () => T, init: Partial<UnitOfWork> = {}): T {
  return storage.run({ wrote: false, userWithinWindow: false, ...init }, fn);
}

export function currentUnitOfWork(): UnitOfWork | undefined {
  return storage.getStore();
}
