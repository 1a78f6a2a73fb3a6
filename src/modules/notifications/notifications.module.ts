import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Notification } from './entities/notification.entity';
import { NotificationsController } from './notifications.controller';
import { NotificationsGateway } from './notifications.gateway';
import { NotificationsService } from './notifications.service';

/** NotificationsService.notify() without transport: what a worker imports. */
@Module({
  imports: [TypeOrmModule.forFeature([Notification])],
  providers: [NotificationsService],
  exports: [NotificationsService],
})
export class NotificationsServiceModule {}

/** The api slice: REST and the /notifications gateway. */
@Module({
  imports: [NotificationsServiceModule],
  controllers: [NotificationsController],
  providers: [NotificationsGateway],
  exports: [NotificationsServiceModule],
})
export class NotificationsModule {}
