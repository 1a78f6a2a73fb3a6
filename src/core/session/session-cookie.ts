import { randomBytes } from 'node:crypto';
import type { Request } from 'express';

export const SESSION_COOKIE = 'switchboard.sid';

const OWNER = Symbol('sessionOwner');
type Owned = Request & { [OWNER]?: number };

/** The owner part of a session id (`<userId>.<random>`) in express-session's signed cookie value (`s:` URL-encoded). */
const OWNER_IN_COOKIE = new RegExp(`(?:^|;\\s*)${SESSION_COOKIE.replace(/\./g, '\\.')}=s%3A(\\d{1,15})\\.`);

/** Names the user the next session id of this request belongs to: call before `req.session.regenerate` at login. */
export function ownNextSession(req: Request, userId: number): void {
  (req as Owned)[OWNER] = userId;
}

/**
 * express-session's `genid`: 24 random bytes as before, prefixed with the user id when the
 * session is started for a user (login, register). The id is signed in the cookie, so the prefix
 * cannot be altered by the client; it only lets the request pipeline start reading the user's
 * read-your-writes window before the session itself has been loaded (Authenticator.prefetch).
 */
export function sessionIdFor(req: Request): string {
  const random = randomBytes(24).toString('base64url');
  const owner = (req as Owned)[OWNER];
  return owner === undefined ? random : `${owner}.${random}`;
}

/** The user id a session cookie's id names, or null (no cookie, an id from before, a malformed header). */
export function sessionOwnerHint(cookieHeader: string | undefined): string | null {
  if (!cookieHeader) return null;
  const match = OWNER_IN_COOKIE.exec(cookieHeader);
  return match ? match[1] : null;
}
