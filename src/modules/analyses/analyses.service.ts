import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { ForbiddenError, NotFoundError, RateLimitedError } from '../../core/errors/domain-error';
import { httpThrottledTotal } from '../../core/metrics/metrics';
import { QueueRegistry } from '../../core/queue/queue-registry';
import type { Principal } from '../../core/session/principal';
import { ProjectsService } from '../projects/projects.service';
import { ANALYSIS_JOB, AnalysisJob } from './analyses.events';
import { CreateAnalysisDto } from './dto/create-analysis.dto';
import { Analysis, AnalysisStatus } from './entities/analysis.entity';

export interface AnalysisView {
  id: number;
  projectId: number;
  userId: number;
  queue: string;
  jobId: string | null;
  status: AnalysisStatus;
  progress: number;
  stations: number;
  completedStations: number;
  result: unknown;
  error: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  createdAt: string;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function analysisView(a: Analysis): AnalysisView {
  return {
    id: a.id,
    projectId: a.projectId,
    userId: a.userId,
    queue: a.queue,
    jobId: a.jobId,
    status: a.status,
    progress: a.progress,
    stations: a.stations,
    completedStations: a.completedStations,
    result: a.result ? (JSON.parse(a.result) as unknown) : null,
    error: a.error,
    startedAt: iso(a.startedAt),
    finishedAt: iso(a.finishedAt),
    createdAt: a.createdAt.toISOString(),
  };
}

@Injectable()
export class AnalysesService {
  constructor(
    @InjectRepository(Analysis) private readonly analyses: Repository<Analysis>,
    private readonly projects: ProjectsService,
    private readonly queues: QueueRegistry,
    private readonly config: AppConfig,
  ) {
    // Handled by AnalysisJobHandler; queue:work refuses to start without it.
    queues.declare(ANALYSIS_JOB);
  }

  /** Members only: a row, then the job on the chosen queue; with Redis away the row is removed again (503). */
  async start(me: Principal, projectId: number, dto: CreateAnalysisDto): Promise<{ analysisId: number; jobId: string; queue: string }> {
    await this.projects.get(me, projectId); // 404 for an unknown project
    if (!(await this.projects.isMember(me.id, projectId))) throw new ForbiddenError('You are not a member of this project');
    const queue = dto.priority ?? 'default';
    if (!this.queues.has(queue)) throw new NotFoundError(`Queue "${queue}"`);
    const stations = dto.stations ?? 5;
    const row = await this.createWithinCap(me.id, { projectId, userId: me.id, queue, stations });
    const data: AnalysisJob = { analysisId: row.id, projectId, userId: me.id, stations };
    try {
      const job = await this.queues.dispatch(queue, ANALYSIS_JOB, data, { ownerId: me.id });
      await this.analyses.update({ id: row.id }, { jobId: job.id });
      return { analysisId: row.id, jobId: job.id, queue };
    } catch (err) {
      await this.analyses.delete({ id: row.id }).catch(() => undefined);
      throw err;
    }
  }

  /**
   * At most MAX_ACTIVE_ANALYSES_PER_USER of a user's analyses wait or run at
   * once, so nobody can fill the `high` queue and starve everyone else. The
   * user's row lock makes that user's parallel starts count one after another.
   */
  private createWithinCap(userId: number, values: Partial<Analysis>): Promise<Analysis> {
    const max = this.config.queue.maxActiveAnalysesPerUser;
    return this.analyses.manager.transaction(async (tx) => {
      await tx.query('SELECT id FROM users WHERE id = ? FOR UPDATE', [userId]);
      const active = await tx.count(Analysis, { where: { userId, status: In(['queued', 'running']) } });
      if (active >= max) {
        httpThrottledTotal.inc({ limit: 'analyses_active' });
        // About when one of them may be done: an analysis of the default five stations.
        const retryAfterMs = Math.max(1000, this.config.queue.analysisStationMs * 5);
        throw new RateLimitedError(retryAfterMs, `You already have ${active} analyses waiting or running (at most ${max}); wait for one to finish`);
      }
      return tx.save(tx.create(Analysis, values));
    });
  }

  /** Project members and admins (the same rule as the analysis:<id> room). */
  async get(me: Principal, id: number): Promise<AnalysisView> {
    const row = await this.analyses.findOneBy({ id });
    if (!row) throw new NotFoundError('Analysis');
    if (me.role !== 'admin' && !(await this.projects.isMember(me.id, row.projectId))) {
      throw new ForbiddenError('You are not a member of this project');
    }
    return analysisView(row);
  }
}
