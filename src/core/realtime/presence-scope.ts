import { Injectable } from '@nestjs/common';
import type { Principal } from '../session/principal';
import { RoomAccess } from './room-access';

/**
 * Whose presence a caller may learn (SPEC §4 `GET /api/realtime/presence`):
 * their own, and that of users who share a room with them (each room kind
 * says who shares one, e.g. a project or a chat room). Anyone else is
 * answered as if offline, so the route cannot be used to probe who uses the
 * service. Admins see everyone.
 */
@Injectable()
export class PresenceScope {
  constructor(private readonly access: RoomAccess) {}

  async visibleTo(user: Principal, userIds: number[]): Promise<number[]> {
    if (user.role === 'admin' || userIds.length === 0) return userIds;
    const shared = await this.access.sharingWith(user.id, userIds);
    shared.add(user.id);
    return userIds.filter((id) => shared.has(id));
  }
}
