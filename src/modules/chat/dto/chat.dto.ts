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

export class SendMessageDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_MESSAGE_LENGTH)
  body!: string;
}

export class MessagesQueryDto extends PageLimitQuery {
  @IsOptional()
  @Matches(ID_CURSOR, { message: 'before must be a message id' })
  before?: string;
}
