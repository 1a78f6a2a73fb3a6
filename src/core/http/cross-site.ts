import type { IncomingHttpHeaders } from 'node:http';
import type { Request } from 'express';
import { ForbiddenError, UnsupportedMediaTypeError } from '../errors/domain-error';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Where a browser gets its session cookie: a foreign page must not log it in as someone else (login CSRF). */
const STARTS_SESSION = /^\/api\/auth\/(login|register)\/?$/;
const JSON_TYPES = ['application/json', 'application/*+json'];

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

/**
 * The page a browser says the request came from: `Origin`, else the origin of
 * `Referer`. Undefined when neither is sent, which browsers never do for a
 * cross-site write; `Origin: null` (sandboxed frames, privacy redirects) is
 * kept as "null" and is foreign.
 */
export function claimedOrigin(headers: IncomingHttpHeaders): string | undefined {
  const origin = headers.origin;
  if (origin !== undefined) return origin;
  const referer = headers.referer;
  return referer === undefined ? undefined : (originOf(referer) ?? 'null');
}

/** A body of at least one byte (type-is counts `Content-Length: 0`, which fetch sends for a bare POST). */
function carriesBody(req: Request): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = Number(req.headers['content-length']);
  return Number.isFinite(length) && length > 0;
}

/**
 * CORS_ORIGIN, or the host the request was sent to (the status page and the
 * queue dashboard post to their own origin). An attacker's page cannot make a
 * browser send a Host other than the target's, and the target's cookie is
 * never sent to a host name the attacker controls.
 */
export function isAllowedOrigin(origin: string, allowed: string[], host: string | undefined): boolean {
  if (allowed.includes(origin)) return true;
  const url = originOf(origin);
  // An opaque origin (data:, file:, blob: of one) is the string "null", which is no URL to read a host from.
  return url !== undefined && url !== 'null' && host !== undefined && new URL(url).host === host.toLowerCase();
}

/** Authenticated by the session cookie, or about to be given one (login, register) without a bearer token. */
function usesSessionCookie(req: Request): boolean {
  if (req.principal) return req.principal.via === 'session';
  return req.headers.authorization === undefined && STARTS_SESSION.test(req.path);
}

/**
 * Cross-site request forgery guard for cookie-authenticated requests (a
 * browser attaches the cookie to a cross-site form post on its own; a bearer
 * token it never attaches) and for the requests that hand out the cookie: a
 * state-changing request from a foreign page is 403, and its body must be
 * JSON (415), which a cross-site form cannot send and a cross-site script
 * can only send after a CORS preflight that CORS_ORIGIN refuses. Clients
 * that send neither Origin nor Referer are not browsers and pass the origin
 * check. Runs once the caller is known (`req.principal`).
 */
export function assertSameSiteWrite(req: Request, allowed: string[]): void {
  if (SAFE_METHODS.has(req.method) || !usesSessionCookie(req)) return;
  const origin = claimedOrigin(req.headers);
  if (origin !== undefined && !isAllowedOrigin(origin, allowed, req.headers.host)) {
    throw new ForbiddenError('Cross-site request refused: this origin may not use the session cookie');
  }
  if (carriesBody(req) && !req.is(JSON_TYPES)) {
    throw new UnsupportedMediaTypeError('Requests authenticated by the session cookie must send application/json');
  }
}

/**
 * The same origin rule for a socket handshake that would authenticate with
 * the session cookie (a WebSocket is not subject to CORS at all).
 */
export function assertSameSiteHandshake(headers: IncomingHttpHeaders, allowed: string[]): void {
  const origin = claimedOrigin(headers);
  if (origin !== undefined && !isAllowedOrigin(origin, allowed, headers.host)) {
    throw new ForbiddenError('Cross-site connection refused: this origin may not use the session cookie');
  }
}
