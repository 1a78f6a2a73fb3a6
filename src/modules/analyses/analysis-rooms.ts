import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { parseRoomId, RoomKind, RoomKindProvider } from '../../core/realtime/room-kinds';
import type { Principal } from '../../core/session/principal';
import { ProjectRooms } from '../projects/project-rooms';
import { Analysis } from './entities/analysis.entity';

export const analysisRoom = (analysisId: number | string) => `analysis:${analysisId}`;

/** `analysis:<id>`: an analysis's progress; the members of its project and admins. */
@Injectable()
@RoomKindProvider()
export class AnalysisRooms implements RoomKind<number> {
  readonly prefix = 'analysis';

  constructor(
    @InjectRepository(Analysis) private readonly analyses: Repository<Analysis>,
    private readonly projects: ProjectRooms,
  ) {}

  parse(rest: string): number | null {
    return parseRoomId(rest);
  }

  async mayListen(user: Principal, analysisId: number): Promise<boolean> {
    if (user.role === 'admin') return true;
    // Repository.query runs on the primary (see ProjectRooms).
    const rows = await this.analyses.query<{ project_id: number }[]>('SELECT project_id FROM analyses WHERE id = ?', [analysisId]);
    return rows.length > 0 && (await this.projects.isMember(user.id, Number(rows[0].project_id)));
  }
}
