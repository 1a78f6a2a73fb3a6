import { Body, Controller, Get, HttpCode, Param, ParseIntPipe, Post } from '@nestjs/common';
import { CurrentUser } from '../../core/session/auth.decorators';
import type { Principal } from '../../core/session/principal';
import { AnalysesService, AnalysisView } from './analyses.service';
import { CreateAnalysisDto } from './dto/create-analysis.dto';
import { JobsService, JobView } from './jobs.service';

@Controller('api')
export class AnalysesController {
  constructor(
    private readonly analyses: AnalysesService,
    private readonly jobs: JobsService,
  ) {}

  @Post('projects/:id/analyses')
  @HttpCode(202)
  start(@CurrentUser() me: Principal, @Param('id', ParseIntPipe) projectId: number, @Body() dto: CreateAnalysisDto) {
    return this.analyses.start(me, projectId, dto);
  }

  @Get('analyses/:id')
  get(@CurrentUser() me: Principal, @Param('id', ParseIntPipe) id: number): Promise<AnalysisView> {
    return this.analyses.get(me, id);
  }

  @Get('jobs/:queue/:id')
  job(@CurrentUser() me: Principal, @Param('queue') queue: string, @Param('id') id: string): Promise<JobView> {
    return this.jobs.get(me, queue, id);
  }
}
