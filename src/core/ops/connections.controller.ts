import { Controller, Get, Optional, Query } from '@nestjs/common';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { Type } from 'class-transformer';
import { AppConfig } from '../../config/app-config';
import { UnavailableError } from '../errors/domain-error';
import { Roles } from '../session/auth.decorators';
import { ConnectionStatsSource } from './connection-stats.source';
import { connectionsStatsView, ConnectionsStatsView } from './connections.view';

export class ConnectionsStatsQuery {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  top?: number;
}

/** GET /api/connections/stats (admins): cluster-wide connections against the caps (seed 000). */
@Controller('api/connections')
export class ConnectionsController {
  constructor(
    private readonly config: AppConfig,
    @Optional() private readonly source?: ConnectionStatsSource,
  ) {}

  @Roles('admin')
  @Get('stats')
  async stats(@Query() query: ConnectionsStatsQuery): Promise<ConnectionsStatsView> {
    if (!this.source) throw new UnavailableError('Connection figures are not available: the realtime module is not loaded');
    return connectionsStatsView(await this.source.report(), this.config.realtime.maxConnectionsPerIp, query.top ?? 10);
  }
}
