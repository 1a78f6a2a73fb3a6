import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { parseRoomId, RoomKind, RoomKindProvider } from '../../core/realtime/room-kinds';
import type { Principal } from '../../core/session/principal';
import { ProjectMember } from './entities/project-member.entity';

/**
 * `project:<id>` (RealtimeService.toProject): the project's members and admins.
 * Raw queries through the repository run on the primary (a runner asked for
 * without a mode is a master one): a replica that has not seen a removal yet
 * must not let a removed member back in.
 */
@Injectable()
@RoomKindProvider()
export class ProjectRooms implements RoomKind<number> {
  readonly prefix = 'project';

  constructor(@InjectRepository(ProjectMember) private readonly members: Repository<ProjectMember>) {}

  parse(rest: string): number | null {
    return parseRoomId(rest);
  }

  async mayListen(user: Principal, projectId: number): Promise<boolean> {
    return user.role === 'admin' || this.isMember(user.id, projectId);
  }

  async isMember(userId: number, projectId: number): Promise<boolean> {
    const rows = await this.members.query<unknown[]>('SELECT 1 FROM project_members WHERE project_id = ? AND user_id = ? LIMIT 1', [projectId, userId]);
    return rows.length > 0;
  }

  async sharingWith(userId: number, among: number[]): Promise<number[]> {
    const rows = await this.members.query<{ user_id: number | string }[]>(
      `SELECT DISTINCT other.user_id FROM project_members mine
         JOIN project_members other ON other.project_id = mine.project_id
        WHERE mine.user_id = ? AND other.user_id IN (?)`,
      [userId, among],
    );
    return rows.map((r) => Number(r.user_id));
  }
}
