import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ProjectsModule } from '../projects/projects.module';
import { AnalysesController } from './analyses.controller';
import { AnalysisJobHandler } from './analyses.job-handler';
import { AnalysesService } from './analyses.service';
import { Analysis } from './entities/analysis.entity';
import { JobsService } from './jobs.service';
import { NotificationsServiceModule } from '../notifications/notifications.module';

/** Projects' analyses (long jobs with live progress) and the job status route. */
@Module({
  imports: [TypeOrmModule.forFeature([Analysis]), ProjectsModule, NotificationsServiceModule],
  controllers: [AnalysesController],
  providers: [AnalysesService, JobsService, AnalysisJobHandler],
})
export class AnalysesModule {}
