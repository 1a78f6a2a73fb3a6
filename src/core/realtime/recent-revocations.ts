import { Injectable } from '@nestjs/common';

/** How long this process remembers a lost room or an ended credential: far longer than a connection takes to set up. */
export const REVOCATION_MEMORY_MS = 60_000;
const MAX_REMEMBERED = 10_000;

/** A socket's handshake request, marked (RecentRevocations.mark) before its session was loaded. */
export interface RevocationMarked {
  revocationMark?: number;
}

/**
 * The rooms users lost and the credentials that ended lately, as this process
 * heard on the channel (AccessRevocations), for one race: a check that passed
 * before the revocation arrived, with the subscription or connection made
 * after it, across awaits (a socket takes its cluster slot, an SSE stream too,
 * between its checks and joining its rooms). `revokedSince`/`endedSince` a mark
 * taken before the check tell. (RoomAccess itself reads the primary, so a
 * replica that has not seen a removal yet does not matter there.)
 */
@Injectable()
export class RecentRevocations {
  private readonly revoked = new Map<string, { at: number; seq: number }>();
  private seq = 0;

  /** The user lost this room. */
  record(userId: number, room: string): void {
    this.remember(`${userId} ${room}`);
  }

  /** These credentials of the user ended (credentialTag), or all of them. */
  recordEnded(userId: number, credentials: number[] | 'all'): void {
    if (credentials === 'all') this.remember(`${userId} *`);
    else for (const tag of credentials) this.remember(`${userId} #${tag}`);
  }

  /** The credential (or all of the user's) ended after `mark` was taken. */
  endedSince(userId: number, credential: number | undefined, mark: number): boolean {
    return this.after(`${userId} *`, mark) || (credential !== undefined && this.after(`${userId} #${credential}`, mark));
  }

  private remember(key: string): void {
    if (this.revoked.size >= MAX_REMEMBERED) this.forgetOld();
    this.revoked.delete(key); // re-inserted last: the map stays in arrival order
    this.revoked.set(key, { at: Date.now(), seq: ++this.seq });
  }

  private after(key: string, mark: number): boolean {
    const r = this.revoked.get(key);
    return !!r && r.seq > mark;
  }

  /** A point in the sequence of revocations, taken before an access check (see `revokedSince`). */
  mark(): number {
    return this.seq;
  }

  /** The user lost the room after `mark` was taken. */
  revokedSince(userId: number, room: string, mark: number): boolean {
    return this.after(`${userId} ${room}`, mark);
  }

  private forgetOld(): void {
    const before = Date.now() - REVOCATION_MEMORY_MS;
    for (const [key, r] of this.revoked) {
      if (r.at >= before && this.revoked.size < MAX_REMEMBERED) break;
      this.revoked.delete(key);
    }
  }
}
