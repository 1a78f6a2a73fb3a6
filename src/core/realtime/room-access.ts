import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { BadRequestError, ForbiddenError } from '../errors/domain-error';
import { REDIS } from '../redis/redis.module';
import type { RedisClient } from '../redis/redis.factory';
import type { Principal } from '../session/principal';
import { readJobOwner } from './job-owner';
import { parseRoom, RoomRef } from './room-name';

/**
 * Who may listen to which room: the same rules for sockets and SSE, checked
 * on subscribe, on every recovery and for replayed history. Reads tables
 * directly (core never imports feature modules); routing stays in core/database.
 */
@Injectable()
export class RoomAccess {
  constructor(
    private readonly db: DataSource,
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly config: AppConfig,
  ) {}

  /** Throws bad_request for a malformed room name, forbidden for a room the user may not see. */
  async assert(user: Principal, room: unknown): Promise<RoomRef> {
    const ref = parseRoom(room);
    if (!ref) throw new BadRequestError('Unknown room name');
    if (!(await this.allowed(user, ref))) throw new ForbiddenError('You may not subscribe to this room');
    return ref;
  }

  async may(user: Principal, room: string): Promise<boolean> {
    const ref = parseRoom(room);
    return ref ? this.allowed(user, ref) : false;
  }

  private async allowed(user: Principal, ref: RoomRef): Promise<boolean> {
    const admin = user.role === 'admin';
    switch (ref.kind) {
      case 'user':
        return ref.userId === user.id;
      case 'queue':
        return admin;
      case 'project':
        return admin || (await this.isProjectMember(user.id, ref.projectId));
      case 'analysis': {
        if (admin) return true;
        const rows = await this.db.query<{ project_id: number }[]>('SELECT project_id FROM analyses WHERE id = ?', [ref.analysisId]);
        return rows.length > 0 && (await this.isProjectMember(user.id, Number(rows[0].project_id)));
      }
      case 'job': {
        if (admin) return true;
        const owner = await readJobOwner(this.redis, this.config.redis.prefix, ref.queue, ref.jobId);
        if (owner !== null) return owner === user.id;
        const rows = await this.db.query<{ user_id: number }[]>('SELECT user_id FROM analyses WHERE queue = ? AND job_id = ? LIMIT 1', [
          ref.queue,
          ref.jobId,
        ]);
        return rows.length > 0 && Number(rows[0].user_id) === user.id;
      }
      case 'chat': {
        const rows = await this.db.query<unknown[]>('SELECT 1 FROM chat_room_members WHERE room_id = ? AND user_id = ? LIMIT 1', [ref.roomId, user.id]);
        return rows.length > 0;
      }
    }
  }

  private async isProjectMember(userId: number, projectId: number): Promise<boolean> {
    const rows = await this.db.query<unknown[]>('SELECT 1 FROM project_members WHERE project_id = ? AND user_id = ? LIMIT 1', [projectId, userId]);
    return rows.length > 0;
  }
}
