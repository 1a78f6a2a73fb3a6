import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { BadRequestError } from '../../core/errors/domain-error';
import { CurrentUser } from '../../core/session/auth.decorators';
import type { Principal } from '../../core/session/principal';
import { NotificationsQueryDto } from './dto/notifications.dto';
import { NotificationsService } from './notifications.service';

@Controller('api/notifications')
export class NotificationsController {
  constructor(private readonly notifications: NotificationsService) {}

  @Get()
  list(@CurrentUser() me: Principal, @Query() q: NotificationsQueryDto) {
    return this.notifications.list(me.id, q.status, q.before, q.limit);
  }

  @Get('unread-count')
  unreadCount(@CurrentUser() me: Principal) {
    return this.notifications.unreadCount(me.id);
  }

  @Post('read-all')
  @HttpCode(200)
  readAll(@CurrentUser() me: Principal) {
    return this.notifications.readAll(me.id);
  }

  @Post(':id/read')
  @HttpCode(200)
  read(@CurrentUser() me: Principal, @Param('id') id: string) {
    if (!/^[1-9][0-9]{0,19}$/.test(id)) throw new BadRequestError('id must be a notification id');
    return this.notifications.markRead(me.id, id);
  }
}
