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
  }
}
