import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The context of one HTTP request, socket event, job or CLI command (what
 * SPEC §6 calls a unit of work; not an ORM Unit of Work: nothing is tracked or
 * committed here). Reads go to a replica until the request writes (Laravel's
 * sticky option); a user inside the read-your-writes window reads the primary
 * from the first query on. Its ids are on every log line written within it.
 */
export interface RequestContext {
  wrote: boolean;
  userId?: string;
  /** The HTTP request's id (nginx's X-Request-Id or our own), on every log line written within it. */
  requestId?: string;
  /** The user wrote within DB_STICKY_WINDOW_MS (on any process). */
  userWithinWindow: boolean;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function runInRequestContext<T>(fn: () => T, init: Partial<RequestContext> = {}): T {
  return storage.run({ wrote: false, userWithinWindow: false, ...init }, fn);
}

export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}
