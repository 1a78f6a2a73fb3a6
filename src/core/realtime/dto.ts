import { IsIn, IsObject, IsOptional, IsString, Length, Matches, MaxLength, ValidateBy, ValidationOptions } from 'class-validator';
import type { RealtimeTarget } from './realtime.contract';

export class RealtimeTestDto {
  @IsString()
  @Matches(/^[a-z][a-z0-9_-]*(:[a-z0-9_-]+)*$/i, { message: 'eventType must look like "system:info"' })
  @MaxLength(64)
  eventType!: string;

  @IsOptional()
  @IsObject()
  payload?: Record<string, unknown>;

  @IsOptional()
  @IsIn(['all', 'websocket', 'sse'])
  target?: RealtimeTarget;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  room?: string;
}

/** `subscribe {room}` and `unsubscribe {room}` on every namespace. */
export class RoomSubscriptionDto {
  @IsString()
  @MaxLength(200)
  room!: string;
}

/** A user id as seed 003's clients send it: a positive integer, or its decimal digits. */
export const USER_ID_DIGITS = /^[1-9][0-9]{0,9}$/;
export const IS_USER_ID = 'isUserIdNumberOrDigits';

function IsUserIdNumberOrDigits(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: IS_USER_ID,
      constraints: [USER_ID_DIGITS],
      validator: {
        validate: (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) || (typeof v === 'string' && USER_ID_DIGITS.test(v)),
        defaultMessage: () => 'userId must be a positive integer',
      },
    },
    options,
  );
}

/**
 * `authenticate {token}`. Seed 003's clients send `{userId, token}`: the token
 * alone decides who the socket is; a userId that names someone else is
 * refused rather than ignored.
 */
export class AuthenticateDto {
  @IsString()
  @Length(1, 4096)
  token!: string;

  @IsOptional()
  @IsUserIdNumberOrDigits()
  userId?: number | string;
}
