import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Job, UnrecoverableError } from 'bullmq';
import { Repository } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { JobContext, JobHandlers } from '../../core/queue/job-handlers';
import { analysisRoom, projectRoom, RealtimeService, userRoom } from '../../core/realtime/realtime.contract';
import { ANALYSIS_JOB, AnalysisJob, AnalysisProgressPayload, stationName } from './analyses.events';
import { NotificationsService } from '../notifications/notifications.service';
import { Analysis } from './entities/analysis.entity';

export interface AnalysisResult {
  analysisId: number;
  stations: Array<{ name: string; score: number }>;
}

/**
 * Runs an analysis station by station. Idempotent: completed_stations is
 * advanced with a compare-and-set per station, and a retried (or stalled and
 * re-run) job resumes at the first unfinished station. analysis:* events go to
 * the analysis, project and owner's rooms; job:* ones come from the worker.
 * A handler registered with JobHandlers (queue:work's strict-priority loop runs
 * it), not a @nestjs/bullmq processor: see docs/architecture.md.
 */
@Injectable()
export class AnalysisJobHandler implements OnModuleInit {
  private readonly logger = new Logger(AnalysisJobHandler.name);

  constructor(
    private readonly handlers: JobHandlers,
    private readonly realtime: RealtimeService,
    private readonly config: AppConfig,
    @InjectRepository(Analysis) private readonly analyses: Repository<Analysis>,
    private readonly notifications: NotificationsService,
  ) {}

  onModuleInit(): void {
    this.handlers.register<AnalysisJob, AnalysisResult>(ANALYSIS_JOB, {
      announce: true,
      run: (job, ctx) => this.run(job, ctx),
      onFailed: (job, err) => this.markFailed(job.data, err),
    });
  }

  async run(job: Job<AnalysisJob>, ctx: JobContext): Promise<AnalysisResult> {
    const { analysisId, stations } = job.data;
    // Writing first makes this unit of work sticky: the reads below see the primary, never a lagging replica.
    await this.analyses
      .createQueryBuilder()
      .update()
      .set({ status: 'running', startedAt: () => 'COALESCE(started_at, CURRENT_TIMESTAMP(3))', error: null })
      .where('id = :id AND status <> :done', { id: analysisId, done: 'completed' })
      .execute();
    const row = await this.analyses.findOneBy({ id: analysisId });
    if (!row) throw new UnrecoverableError(`Analysis ${analysisId} no longer exists`);
    if (row.status === 'completed' && row.result) return JSON.parse(row.result) as AnalysisResult;

    const first = row.completedStations + 1;
    await this.emit(job.data, 'analysis:started', first - 1, `${first > 1 ? 'resuming at' : 'starting'} station ${first}`);
    for (let n = first; n <= stations; n++) {
      if (ctx.signal.aborted) throw new Error('analysis aborted');
      await this.work(n);
      const progress = Math.floor((n / stations) * 100);
      const moved = await this.analyses
        .createQueryBuilder()
        .update()
        .set({ completedStations: n, progress })
        .where('id = :id AND completed_stations = :prev', { id: analysisId, prev: n - 1 })
        .execute();
      if (!moved.affected) throw new Error(`station ${n} of analysis ${analysisId} was finished by someone else`);
      await ctx.progress(progress, { currentStep: stationName(n), totalSteps: stations, message: `station ${n}/${stations} done` });
      await this.emit(job.data, 'analysis:progress', n, `station ${stationName(n)} done`);
    }
    const result: AnalysisResult = {
      analysisId,
      stations: Array.from({ length: stations }, (_, i) => ({ name: stationName(i + 1), score: ((analysisId * 31 + i * 17) % 100) / 100 })),
    };
    await this.analyses.update(
      { id: analysisId },
      { status: 'completed', progress: 100, completedStations: stations, result: JSON.stringify(result), finishedAt: new Date() },
    );
    await this.emit(job.data, 'analysis:completed', stations, 'analysis completed');
    await this.notifyOutcome(job.data, 'analysis.completed', `Analysis ${analysisId} finished`);
    return result;
  }

  private async markFailed(data: AnalysisJob, err: Error): Promise<void> {
    await this.analyses.update({ id: data.analysisId }, { status: 'failed', error: err.message.slice(0, 2000), finishedAt: new Date() });
    await this.notifyOutcome(data, 'analysis.failed', `Analysis ${data.analysisId} failed`, err.message.slice(0, 500));
  }

  /**
   * The project's owner and whoever started the analysis hear how it ended
   * (persisted, live, unread count). A failure to notify is logged, never a
   * reason to run the analysis again.
   */
  private async notifyOutcome(data: AnalysisJob, type: string, title: string, body?: string): Promise<void> {
    try {
      const rows = await this.analyses.query<{ owner_id: number }[]>('SELECT owner_id FROM projects WHERE id = ? LIMIT 1', [data.projectId]);
      const to = new Set([data.userId, ...rows.map((r) => Number(r.owner_id))]);
      for (const userId of to) await this.notifications.notify(userId, { type, title, body, data: { projectId: data.projectId, analysisId: data.analysisId } });
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, analysisId: data.analysisId }, 'analysis outcome not notified');
    }
  }

  private work(_station: number): Promise<void> {
    return new Promise((r) => setTimeout(r, this.config.queue.analysisStationMs));
  }

  private async emit(data: AnalysisJob, event: string, station: number, log: string): Promise<void> {
    const payload: AnalysisProgressPayload = {
      projectId: data.projectId,
      analysisId: data.analysisId,
      currentStation: station,
      totalStations: data.stations,
      stationName: station > 0 ? stationName(station) : '',
      progress: Math.floor((station / data.stations) * 100),
      logs: [log],
    };
    await this.realtime.toRooms([analysisRoom(data.analysisId), projectRoom(data.projectId), userRoom(data.userId)], event, payload);
  }
}
