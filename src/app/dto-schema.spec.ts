import 'reflect-metadata';
import { IsDateString, IsInt, IsOptional, IsString, Length, Min } from 'class-validator';
import { AuthenticateDto } from '../core/realtime/dto';
import { SendMessagePayload } from '../modules/chat/dto/chat.dto';
import { dtoSchema } from './dto-schema';

describe('dtoSchema', () => {
  it('describes a socket payload from the same rules the HTTP body has, inherited ones included', () => {
    expect(dtoSchema(SendMessagePayload)).toEqual({
      type: 'object',
      additionalProperties: false,
      properties: {
        body: { type: 'string', minLength: 1, maxLength: 4000 },
        roomId: { type: 'integer', minimum: 1 },
        clientMessageId: { type: 'string', maxLength: 64, pattern: '^[A-Za-z0-9._:+/=-]{1,64}$' },
      },
      required: ['roomId', 'body'],
    });
  });

  it('describes optional fields and the seed-003 user id (a number or its digits)', () => {
    expect(dtoSchema(AuthenticateDto)).toEqual({
      type: 'object',
      additionalProperties: false,
      properties: {
        token: { type: 'string', minLength: 1, maxLength: 4096 },
        userId: { oneOf: [{ type: 'integer', minimum: 1 }, { type: 'string', pattern: '^[1-9][0-9]{0,9}$' }] },
      },
      required: ['token'],
    });
  });

  it('refuses a rule it cannot describe instead of documenting it wrongly', () => {
    class WithDate {
      @IsString()
      @Length(1, 10)
      name!: string;

      @IsOptional()
      @IsInt()
      @Min(0)
      n?: number;

      @IsDateString()
      at!: string;
    }
    expect(() => dtoSchema(WithDate)).toThrow(/isDateString of WithDate\.at/);
  });
});
