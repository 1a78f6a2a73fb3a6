import { createHmac, timingSafeEqual } from 'node:crypto';

/** What `bin/switchboard down` stores (Laravel's storage/framework/down), in Redis for the whole cluster. */
export interface MaintenanceState {
  /** ms since epoch */
  since: number;
  /** Seconds for Retry-After; undefined: none sent. */
  retry?: number;
  /** Seconds for the Refresh header (browsers reload the page). */
  refresh?: number;
  /** Visiting /<secret> sets the bypass cookie. */
  secret?: string;
}

export const BYPASS_COOKIE = 'switchboard_maintenance';
/** Laravel's bypass cookie lasts 12 hours. */
export const BYPASS_TTL_S = 12 * 3600;

export function parseState(raw: string | null): MaintenanceState | null {
  if (raw === null) return null;
  try {
    const v = JSON.parse(raw) as Partial<MaintenanceState>;
    return { since: Number(v.since) || Date.now(), retry: num(v.retry), refresh: num(v.refresh), secret: typeof v.secret === 'string' && v.secret ? v.secret : undefined };
  } catch {
    // Something other than `down` wrote the key: it still means down, with no extras.
    return { since: Date.now() };
  }
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/**
 * The cookie value: expiry and an HMAC of it keyed by the secret, as Laravel's
 * MaintenanceModeBypassCookie; any api process can check it with the shared state alone, and a
 * new `down` with another secret ends every old bypass.
 */
export function bypassCookieValue(secret: string, now = Date.now()): string {
  const expires = Math.floor(now / 1000) + BYPASS_TTL_S;
  return `${expires}.${mac(secret, expires)}`;
}

export function validBypass(secret: string, value: string | undefined, now = Date.now()): boolean {
  if (!value) return false;
  const [expiresRaw, sig] = value.split('.');
  const expires = Number(expiresRaw);
  if (!Number.isInteger(expires) || expires * 1000 < now || !sig) return false;
  const want = Buffer.from(mac(secret, expires));
  const got = Buffer.from(sig);
  return want.length === got.length && timingSafeEqual(want, got);
}

function mac(secret: string, expires: number): string {
  return createHmac('sha256', secret).update(`switchboard-maintenance:${expires}`).digest('base64url');
}

/** The cookie named BYPASS_COOKIE from a Cookie header. */
export function readBypassCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === BYPASS_COOKIE) return part.slice(i + 1).trim();
  }
  return undefined;
}
