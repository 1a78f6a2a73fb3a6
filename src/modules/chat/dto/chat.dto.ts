import { ArrayMaxSize, IsArray, IsBoolean, IsInt, IsNotEmpty, IsOptional, IsString, Matches, MaxLength, Min } from 'class-validator';
import { ID_CURSOR, PageLimitQuery } from '../../../core/http/cursor-page.dto';
import { CLIENT_MESSAGE_ID, MAX_CLIENT_MESSAGE_ID_LENGTH } from '../client-message-id';

export const MAX_MESSAGE_LENGTH = 4000;

export class CreateRoomDto {
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;

  @IsArray()
  @ArrayMaxSize(500)
  @IsInt({ each: true })
  @Min(1, { each: true })
  memberIds!: number[];

  @IsOptional()
  @IsBoolean()
  assistant?: boolean;
}

/** `POST /api/chat/rooms/:id/messages`; the socket's `message:send` adds the room id (SendMessagePayload). */
export class SendMessageDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_MESSAGE_LENGTH)
  body!: string;
}

/** `/chat` client events that name a room: `room:join`, `typing`. */
export class ChatRoomRefDto {
  @IsInt()
  @Min(1)
  roomId!: number;
}

/** `/chat` `message:send {roomId, body}`: the HTTP body's rules, plus the room the route takes from its path. */
export class SendMessagePayload extends SendMessageDto {
  @IsInt()
  @Min(1)
  roomId!: number;

  /** Resending with the same one returns the message already stored (ChatService.send); = the HTTP Idempotency-Key. */
  @IsOptional()
  @IsString()
  @MaxLength(MAX_CLIENT_MESSAGE_ID_LENGTH)
  @Matches(CLIENT_MESSAGE_ID)
  clientMessageId?: string;
}

export class MessagesQueryDto extends PageLimitQuery {
  @IsOptional()
  @Matches(ID_CURSOR, { message: 'before must be a message id' })
  before?: string;
}
