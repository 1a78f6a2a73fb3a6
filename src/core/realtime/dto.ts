import { IsIn, IsObject, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import type { RealtimeTarget } from './realtime.contract';

export class RealtimeTestDto {
  @IsString()
  @Matches(/^[a-z][a-z0-9_-]*(:[a-z0-9_-]+)*$/i, { message: 'eventType must look like "system:info"' })
  @MaxLength(64)
  eventType!: string;

  @IsOptional()
  @IsObject()
  payload?: Record<string, unknown>;

  @IsOptional()
  @IsIn(['all', 'websocket', 'sse'])
  target?: RealtimeTarget;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  room?: string;
}
