import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsBoolean, IsInt, IsNotEmpty, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

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

export class MessagesQueryDto {
  @IsOptional()
  @Matches(/^[1-9][0-9]{0,19}$/, { message: 'before must be a message id' })
  before?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;
}
