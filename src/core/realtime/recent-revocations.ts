import { Injectable } from '@nestjs/common';

/** How long this process remembers that a user lost a room: far longer than an SSE stream takes to open. */
export const REVOCATION_MEMORY_MS = 60_000;
const MAX_REMEMBERED = 10_000;

/**
 * The rooms users lost lately, as this process heard on the channel
 * (AccessRevocations), for one race: an access check that passed before the
 * removal arrived, with the subscription made after it, across awaits (an SSE
 * stream takes a connection slot in between). `revokedSince` a mark taken
 * before the check tells. (RoomAccess itself reads the primary, so a replica
 * that has not seen the removal yet does not matter there.)
 */
@Injectable()
export class RecentRevocations {
  private readonly revoked = new Map<string, { at: number; seq: number }>();
  private seq = 0;

  record(userId: number, room: string): void {
    if (this.revoked.size >= MAX_REMEMBERED) this.forgetOld();
    const key = `${userId} ${room}`;
    this.revoked.delete(key); // re-inserted last: the map stays in arrival order
    this.revoked.set(key, { at: Date.now(), seq: ++this.seq });
  }

  /** A point in the sequence of revocations, taken before an access check (see `revokedSince`). */
  mark(): number {
    return this.seq;
  }

  /** The user lost the room after `mark` was taken. */
  revokedSince(userId: number, room: string, mark: number): boolean {
    const r = this.revoked.get(`${userId} ${room}`);
    return !!r && r.seq > mark;
  }

  private forgetOld(): void {
    const before = Date.now() - REVOCATION_MEMORY_MS;
    for (const [key, r] of this.revoked) {
      if (r.at >= before && this.revoked.size < MAX_REMEMBERED) break;
      this.revoked.delete(key);
    }
  }
}
