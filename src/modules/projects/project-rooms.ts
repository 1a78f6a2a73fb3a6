import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { TurnBatch } from '../../core/database/turn-batch';
import { parseRoomId, RoomKind, RoomKindProvider } from '../../core/realtime/room-kinds';
import type { Principal } from '../../core/session/principal';
import { ProjectMember } from './entities/project-member.entity';

/**
 * `project:<id>` (RealtimeService.toProject): the project's members and admins.
 * Raw queries through the repository run on the primary (a runner asked for
 * without a mode is a master one): a replica that has not seen a removal yet
 * must not let a removed member back in. The checks asked for in one turn of
 * the event loop (a connection storm's subscribes and recoveries) share one
 * statement (TurnBatch): read after every caller asked, never cached.
 */
@Injectable()
@RoomKindProvider()
export class ProjectRooms implements RoomKind<number> {
  readonly prefix = 'project';

  /** Keys are `[projectId, userId]`. */
  private readonly membership = new TurnBatch<[number, number], boolean>((pairs) => this.loadMembership(pairs));

  constructor(@InjectRepository(ProjectMember) private readonly members: Repository<ProjectMember>) {}

  parse(rest: string): number | null {
    return parseRoomId(rest);
  }

  async mayListen(user: Principal, projectId: number): Promise<boolean> {
    return user.role === 'admin' || this.isMember(user.id, projectId);
  }

  isMember(userId: number, projectId: number): Promise<boolean> {
    return this.membership.get([projectId, userId]);
  }

  /** One statement for the batch: each pair is a point on the primary key (project_id, user_id). */
  private async loadMembership(pairs: [number, number][]): Promise<boolean[]> {
    const where = pairs.map(() => '(project_id = ? AND user_id = ?)').join(' OR ');
    const rows = await this.members.query<{ project_id: number | string; user_id: number | string }[]>(
      `SELECT project_id, user_id FROM project_members WHERE ${where}`,
      pairs.flat(),
    );
    const found = new Set(rows.map((r) => `${Number(r.project_id)} ${Number(r.user_id)}`));
    return pairs.map(([projectId, userId]) => found.has(`${projectId} ${userId}`));
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
