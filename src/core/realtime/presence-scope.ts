import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Principal } from '../session/principal';

/**
 * Whose presence a caller may learn (SPEC §4 `GET /api/realtime/presence`):
 * their own, and that of users who share a project or a chat room with them.
 * Anyone else is answered as if offline, so the route cannot be used to probe
 * who uses the service. Admins see everyone. Reads tables directly, as
 * RoomAccess does (core never imports feature modules).
 */
@Injectable()
export class PresenceScope {
  constructor(private readonly db: DataSource) {}

  async visibleTo(user: Principal, userIds: number[]): Promise<number[]> {
    if (user.role === 'admin' || userIds.length === 0) return userIds;
    const rows = await this.db.query<{ user_id: number | string }[]>(
      `SELECT other.user_id FROM project_members mine
         JOIN project_members other ON other.project_id = mine.project_id
        WHERE mine.user_id = ? AND other.user_id IN (?)
       UNION
       SELECT other.user_id FROM chat_room_members mine
         JOIN chat_room_members other ON other.room_id = mine.room_id
        WHERE mine.user_id = ? AND other.user_id IN (?)`,
      [user.id, userIds, user.id, userIds],
    );
    const shared = new Set(rows.map((r) => Number(r.user_id)));
    shared.add(user.id);
    return userIds.filter((id) => shared.has(id));
  }
}
