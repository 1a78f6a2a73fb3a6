import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ProjectsModule } from '../projects/projects.module';
import { AnalysesController } from './analyses.controller';
import { AnalysisJobHandler } from './analyses.job-handler';
import { AnalysesService } from './analyses.service';
import { AnalysisRooms } from './analysis-rooms';
import { AnalysisStreamController } from './analysis-stream.controller';
import { Analysis } from './entities/analysis.entity';
import { JobsService } from './jobs.service';
import { NotificationsServiceModule } from '../notifications/notifications.module';

/** Analyses without transport: the service and the job handler, what a worker imports. */
@Module({
  imports: [TypeOrmModule.forFeature([Analysis]), ProjectsModule, NotificationsServiceModule],
  providers: [AnalysesService, JobsService, AnalysisJobHandler],
  exports: [AnalysesService, JobsService],
})
export class AnalysesServiceModule {}

/** The api slice: REST, the analysis SSE stream and the `analysis:<id>` room kind. */
@Module({
  imports: [AnalysesServiceModule, TypeOrmModule.forFeature([Analysis]), ProjectsModule],
  controllers: [AnalysesController, AnalysisStreamController],
  providers: [AnalysisRooms],
})
export class AnalysesModule {}
