import { createHash } from 'node:crypto';
import type { Principal } from './principal';

/**
 * A small number naming the credential (one bearer token or one session) a
 * live connection was opened with, so that logout can end exactly the
 * connections of that token or session, on every process. 30 bits keep it a
 * small integer in V8 (no heap object per socket; the token id string cost
 * about 0.1 KB per socket). It is only ever compared among one user's own
 * connections: a collision there (about n²/2³¹ for n connections) ends an
 * extra connection of the same user, which reconnects with its credential
 * still valid. Never a secret: the hash of an id that is dead by then.
 */
export function credentialTag(kind: 'token' | 'session', id: string): number {
  return createHash('sha256').update(`${kind}:${id}`).digest().readUInt32BE(0) >>> 2;
}

/** The tag of the credential a principal came with: its token, else the session it was read from. */
export function principalCredential(principal: Principal, sessionId: string | undefined): number | undefined {
  if (principal.via === 'token') return principal.tokenId ? credentialTag('token', principal.tokenId) : undefined;
  return sessionId ? credentialTag('session', sessionId) : undefined;
}
