import { Controller, Get, Param, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { BadRequestError } from '../../core/errors/domain-error';
import { SseStreams } from '../../core/realtime/sse-streams';
import { CurrentUser } from '../../core/session/auth.decorators';
import type { Principal } from '../../core/session/principal';
import { analysisRoom } from './analysis-rooms';

const ID = /^[1-9][0-9]{0,9}$/;

/** SSE for one analysis (SPEC §4): the `analysis:<id>` room, with the same rules and replay as /api/realtime/events. */
@Controller('api/realtime')
export class AnalysisStreamController {
  constructor(private readonly sse: SseStreams) {}

  @Get('analysis/:analysisId/stream')
  analysis(@CurrentUser() me: Principal, @Param('analysisId') analysisId: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    if (!ID.test(analysisId)) throw new BadRequestError('analysisId must be a positive integer');
    return this.sse.open(req, res, me, [analysisRoom(analysisId)]);
  }
}
