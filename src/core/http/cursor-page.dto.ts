import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

/** A bigint id used as a "before" cursor (messages, notifications). */
export const ID_CURSOR = /^[1-9][0-9]{0,19}$/;

/** `?limit=` of every cursor-paged list; subclasses add their `before` cursor with its own message. */
export class PageLimitQuery {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;
}
