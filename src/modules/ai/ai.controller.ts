import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { CurrentUser, Roles } from '../../core/session/auth.decorators';
import type { Principal } from '../../core/session/principal';
import { AiResponseCache, CacheStats } from './ai.cache';
import { AiAnswer, AiService } from './ai.service';
import { CompleteDto } from './dto/complete.dto';

@Controller('api/ai')
export class AiController {
  constructor(
    private readonly ai: AiService,
    private readonly cache: AiResponseCache,
  ) {}

  /** Any authenticated user; `hitCount` counts only their own hits unless they are an admin (AI_CACHE_SCOPE). */
  @Post('complete')
  @HttpCode(200)
  complete(@CurrentUser() me: Principal, @Body() dto: CompleteDto): Promise<AiAnswer> {
    return this.ai.answer(dto.query, dto.context, { id: me.id, role: me.role });
  }

  /** Cluster-wide (counters live in Redis). */
  @Get('cache/stats')
  @Roles('admin')
  stats(): Promise<CacheStats> {
    return this.cache.stats();
  }
}
