import { BadRequestError } from '../../errors/domain-error';
/**
 * Laravel's `--backoff` / `$backoff`, in seconds: one value is the first delay, doubled on each
 * retry (BullMQ's exponential); a list `1,5,10` gives the delay per retry, the last repeating.
 */
export type BackoffSeconds = readonly number[];

/** Parses "2" or "1,5,10" (seconds, decimals allowed); throws with the flag's name on anything else. */
export function parseBackoff(flag: string, value: string): BackoffSeconds {
  const parts = value.split(',').map((p) => p.trim());
  if (parts.length > 100 || parts.some((p) => !/^\d{1,7}(\.\d{1,3})?$/.test(p))) {
    throw new BadRequestError(`${flag} must be seconds, one value or a comma-separated list such as 1,5,10 (got "${value}")`);
  }
  return parts.map(Number);
}

/** The delay in ms before retry number `retry` (1 = the first retry). */
export function backoffDelayMs(backoff: BackoffSeconds, retry: number): number {
  if (backoff.length === 0) return 0;
  if (backoff.length === 1) return Math.round(backoff[0] * 1000 * 2 ** Math.max(0, retry - 1));
  return Math.round(backoff[Math.min(retry, backoff.length) - 1] * 1000);
}
