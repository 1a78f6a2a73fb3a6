import { IsIn, IsOptional, Matches } from 'class-validator';
import { ID_CURSOR, PageLimitQuery } from '../../../core/http/cursor-page.dto';

export class NotificationsQueryDto extends PageLimitQuery {
  @IsOptional()
  @IsIn(['unread', 'all'])
  status?: 'unread' | 'all';

  @IsOptional()
  @Matches(ID_CURSOR, { message: 'before must be a notification id' })
  before?: string;
}
