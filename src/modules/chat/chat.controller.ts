import { Body, Controller, Delete, Get, Headers, HttpCode, Param, ParseIntPipe, Post, Query, Res } from '@nestjs/common';
import { ApiHeader, ApiResponse } from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentUser } from '../../core/session/auth.decorators';
import type { Principal } from '../../core/session/principal';
import { MessageView, RoomView } from './chat.views';
import { ChatService } from './chat.service';
import { CLIENT_MESSAGE_ID, idempotencyKeyHeader, MAX_CLIENT_MESSAGE_ID_LENGTH } from './client-message-id';
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

  /** With an Idempotency-Key used before (here or as a socket's clientMessageId): the message stored then, `Idempotent-Replayed: true`. */
  @Post('rooms/:id/messages')
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Optional key for this message (e.g. a UUID), unique per sender; resending with the same key after a lost response returns the message ' +
      'already stored (same id, header Idempotent-Replayed: true) instead of a duplicate. Shared with message:send clientMessageId.',
    schema: { type: 'string', pattern: CLIENT_MESSAGE_ID.source, maxLength: MAX_CLIENT_MESSAGE_ID_LENGTH },
  })
  @ApiResponse({ status: 409, description: 'The Idempotency-Key was already used for a different message', schema: { $ref: '#/components/schemas/Error' } })
  async send(
    @CurrentUser() me: Principal,
    @Param('id', ParseIntPipe) id: number,
    @Body() dto: SendMessageDto,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<MessageView> {
    const sent = await this.chat.send(me.id, id, dto.body, idempotencyKeyHeader(key));
    if (sent.replayed) res.setHeader('Idempotent-Replayed', 'true');
    return sent.message;
  }
}
