import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from '../../core/errors/domain-error';
import { projectRoom, RealtimeService } from '../../core/realtime/realtime.contract';
import { analysisRoom } from '../analyses/analysis-rooms';
import type { Principal } from '../../core/session/principal';
import { UsersService } from '../auth/users.service';
import { ProjectMember } from './entities/project-member.entity';
import { Project } from './entities/project.entity';
import { NotificationsService } from '../notifications/notifications.service';

export interface ProjectView {
  id: number;
  name: string;
  ownerId: number;
  memberIds: number[];
  createdAt: string;
}

export function projectView(p: Project): ProjectView {
  return {
    id: p.id,
    name: p.name,
    ownerId: p.ownerId,
    memberIds: (p.members ?? []).map((m) => m.userId).sort((a, b) => a - b),
    createdAt: p.createdAt.toISOString(),
  };
}

/** Projects the user owns or is a member of, newest first, with their members (also bench/http's baseline query). */
export function projectsOf(projects: Repository<Project>, userId: number): Promise<Project[]> {
  return projects
    .createQueryBuilder('p')
    .innerJoin(ProjectMember, 'mine', 'mine.project_id = p.id AND mine.user_id = :userId', { userId })
    .leftJoinAndSelect('p.members', 'm')
    .orderBy('p.id', 'DESC')
    .getMany();
}

@Injectable()
export class ProjectsService {
  constructor(
    @InjectRepository(Project) private readonly projects: Repository<Project>,
    @InjectRepository(ProjectMember) private readonly members: Repository<ProjectMember>,
    private readonly users: UsersService,
    private readonly realtime: RealtimeService,
    private readonly notifications: NotificationsService,
  ) {}

  async create(ownerId: number, name: string, memberIds: number[] = []): Promise<ProjectView> {
    const ids = [...new Set([ownerId, ...memberIds])];
    const saved = await this.projects.manager.transaction(async (tx) => {
      // In the transaction: on the primary, which has a user registered a moment ago (a replica may not yet).
      const missing = await this.users.missing(ids.filter((id) => id !== ownerId), tx);
      if (missing.length) throw new BadRequestError(`memberIds name unknown users: ${missing.join(', ')}`);
      const project = await tx.save(Project, tx.create(Project, { name, ownerId }));
      await tx.insert(ProjectMember, ids.map((userId) => ({ projectId: project.id, userId })));
      return project;
    });
    // Read back after the write: sticky routing serves it from the primary.
    const view = await this.get({ id: ownerId, role: 'user', via: 'session' }, saved.id);
    // Everyone added by someone else hears about it, as chat.room_added does for rooms.
    for (const userId of ids.filter((id) => id !== ownerId)) {
      await this.notifications.notify(userId, { type: 'project.member_added', title: `You were added to the project ${view.name}`, data: { projectId: view.id, by: ownerId } });
    }
    return view;
  }

  /** Projects the user owns or is a member of (the owner is always a member). */
  async listFor(userId: number): Promise<ProjectView[]> {
    return (await projectsOf(this.projects, userId)).map(projectView);
  }

  async get(me: Principal, id: number): Promise<ProjectView> {
    const project = await this.projects.findOne({ where: { id }, relations: { members: true } });
    if (!project) throw new NotFoundError('Project');
    if (me.role !== 'admin' && !project.members.some((m) => m.userId === me.id)) {
      throw new ForbiddenError('You are not a member of this project');
    }
    return projectView(project);
  }

  /**
   * The owner or an admin removes a member, or a member leaves. Access ends on
   * every process at once: the member's sockets leave the project's room and
   * its analyses' rooms, and their SSE streams stop carrying them. The owner
   * stays (a project always has one).
   */
  async removeMember(me: Principal, projectId: number, userId: number): Promise<void> {
    const project = await this.projects.findOne({ where: { id: projectId }, relations: { members: true } });
    if (!project) throw new NotFoundError('Project');
    const callerIsMember = project.members.some((m) => m.userId === me.id);
    if (me.role !== 'admin' && project.ownerId !== me.id) {
      if (!callerIsMember) throw new ForbiddenError('You are not a member of this project');
      if (userId !== me.id) throw new ForbiddenError('Only the owner or an admin may remove another member');
    }
    if (userId === project.ownerId) throw new ConflictError('The owner cannot be removed from the project');
    const removed = await this.members.delete({ projectId, userId });
    if (!removed.affected) throw new NotFoundError('Member');
    // After the write this unit reads the primary: no analysis created meanwhile is missed.
    const analyses = await this.projects.manager.query<{ id: number }[]>('SELECT id FROM analyses WHERE project_id = ?', [projectId]);
    await this.realtime.revokeAccess(userId, [projectRoom(projectId), ...analyses.map((a) => analysisRoom(a.id))]);
  }

  /** For realtime room checks and analyses: members only (admins too). */
  async isMember(userId: number, projectId: number): Promise<boolean> {
    return (await this.members.countBy({ projectId, userId })) > 0;
  }
}
