import { ArrayMaxSize, IsArray, IsBoolean, IsInt, IsNotEmpty, IsOptional, IsString, Matches, MaxLength, Min } from 'class-validator';
import { ID_CURSOR, PageLimitQuery } from '../../../core/http/cursor-page.dto';

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
}

export class MessagesQueryDto extends PageLimitQuery {
  @IsOptional()
  @Matches(ID_CURSOR, { message: 'before must be a message id' })
  before?: string;
}
