import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';

export class NotificationsQueryDto {
  @IsOptional()
  @IsIn(['unread', 'all'])
  status?: 'unread' | 'all';

  @IsOptional()
  @Matches(/^[1-9][0-9]{0,19}$/, { message: 'before must be a notification id' })
  before?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;
}
