import { Controller, Get, Res } from '@nestjs/common';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import type { Response } from 'express';
import { Public } from '../session/auth.decorators';
import { runScrapeHooks } from './metrics';

/** /metrics for Prometheus: public like /up; restrict by network (nginx, k8s) in production. */
@Controller()
export class MetricsController extends PrometheusController {
  @Public()
  @Get()
  override async index(@Res({ passthrough: true }) response: Response): Promise<string> {
    await runScrapeHooks();
    return super.index(response);
  }
}
