import { Injectable } from '@nestjs/common';

/** How long this process remembers that a user lost a room: longer than any replica should lag. */
export const REVOCATION_MEMORY_MS = 60_000;
const MAX_REMEMBERED = 10_000;

/**
 * The rooms users lost lately, as this process heard on the channel
 * (AccessRevocations). Two races need it: an access check that read a replica
 * which has not seen the removal yet (RoomAccess then asks the primary), and a
 * check that passed before the removal arrived with the subscription made
 * after it (`revokedSince` a mark taken before the check).
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

  recentlyRevoked(userId: number, room: string): boolean {
    const r = this.revoked.get(`${userId} ${room}`);
    return !!r && Date.now() - r.at < REVOCATION_MEMORY_MS;
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
