/**
 * Instructions to every api process, sent on the realtime channel with an id
 * of the one id space and no room: they arrive in order with the events
 * (what was published after a revocation is delivered after it), a process
 * that missed one on the channel fills it from the global stream like any
 * event, and no client can receive one (no room, so no room history either).
 */
export const SESSION_ENDED = 'control:session-ended';
export const ACCESS_REVOKED = 'control:access-revoked';

export interface SessionEndedControl {
  userId: number;
  /** credentialTag()s of the revoked tokens/sessions; 'all' ends every connection of the user. */
  credentials: number[] | 'all';
}

export interface AccessRevokedControl {
  userId: number;
  rooms: string[];
}
