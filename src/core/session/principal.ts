import type { UserRole } from './roles';

/** Who is calling, whichever way they authenticated. */
export interface Principal {
  id: number;
  role: UserRole;
  via: 'session' | 'token';
  /** Set for bearer tokens, so logout can revoke the token itself. */
  tokenId?: string;
  tokenExpiresAt?: number;
}

declare module 'express-session' {
  interface SessionData {
    userId: number;
    role: UserRole;
  }
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
    /** Read-your-writes window of the user named in the session id, read beside the session itself (Authenticator.prefetch). */
    windowHint?: { userId: string; within: Promise<boolean> };
  }
}
