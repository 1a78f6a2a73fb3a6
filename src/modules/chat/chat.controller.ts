import { Body, Controller, Delete, Get, HttpCode, Param, ParseIntPipe, Post, Query } from '@nestjs/common';
import { CurrentUser } from '../../core/session/auth.decorators';
import type { Principal } from '../../core/session/principal';
import { MessageView, RoomView } from './chat.views';
import { ChatService } from './chat.service';
import { CreateRoomDto, MessagesQueryDto, SendMessageDto } from './dto/chat.dto';

@Controller('api/chat')
export class ChatController {
  constructor(private readonly chat: ChatService) {}

  @Post('rooms')
  createRoom(@CurrentUser() me: Principal, @Body() dto: CreateRoomDto): Promise<RoomView> {
    return this.chat.createRoom(me.id, dto);
  }

  @Get('rooms')
  rooms(@CurrentUser() me: Principal): Promise<RoomView[]> {
    return this.chat.roomsOf(me.id);
  }

  @Get('rooms/:id/messages')
  messages(@CurrentUser() me: Principal, @Param('id', ParseIntPipe) id: number, @Query() q: MessagesQueryDto) {
    return this.chat.history(me.id, id, q.before, q.limit);
  }

  /** The room's creator or an admin; a member may remove themself. Live subscriptions end with the membership. */
  @Delete('rooms/:id/members/:userId')
  @HttpCode(204)
  removeMember(@CurrentUser() me: Principal, @Param('id', ParseIntPipe) id: number, @Param('userId', ParseIntPipe) userId: number): Promise<void> {
    return this.chat.removeMember(me, id, userId);
  }

  @Post('rooms/:id/messages')
  send(@CurrentUser() me: Principal, @Param('id', ParseIntPipe) id: number, @Body() dto: SendMessageDto): Promise<MessageView> {
    return this.chat.send(me.id, id, dto.body);
  }
}
