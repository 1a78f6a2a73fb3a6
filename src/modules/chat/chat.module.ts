import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from '../auth/auth.module';
import { NotificationsServiceModule } from '../notifications/notifications.module';
import { ChatController } from './chat.controller';
import { ChatGateway } from './chat.gateway';
import { ChatRooms } from './chat-rooms';
import { ChatService } from './chat.service';
import { DeliveryMarks } from './delivery-marks';
import { ChatRoomMember } from './entities/chat-room-member.entity';
import { ChatRoom } from './entities/chat-room.entity';
import { Message } from './entities/message.entity';

/** ChatService without transport: what a worker (the assistant) imports. */
@Module({
  imports: [TypeOrmModule.forFeature([ChatRoom, ChatRoomMember, Message]), AuthModule, NotificationsServiceModule],
  providers: [ChatService, DeliveryMarks],
  exports: [ChatService],
})
export class ChatServiceModule {}

/** The api slice: REST and the /chat gateway. */
@Module({
  imports: [ChatServiceModule, TypeOrmModule.forFeature([ChatRoomMember])],
  controllers: [ChatController],
  providers: [ChatGateway, ChatRooms],
  exports: [ChatServiceModule],
})
export class ChatModule {}
