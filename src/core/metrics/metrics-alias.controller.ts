import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';
import { register } from 'prom-client';
import { Public } from '../session/auth.decorators';

/** Seed 002's `/api/metrics`: the same registry and text as `/metrics`. */
@Controller('api/metrics')
export class MetricsAliasController {
  @Public()
  @Get()
  async index(@Res({ passthrough: true }) response: Response): Promise<string> {
    response.header('Content-Type', register.contentType);
    return register.metrics();
  }
}
