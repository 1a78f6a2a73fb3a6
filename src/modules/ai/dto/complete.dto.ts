import { IsObject, IsOptional, IsString, Matches, MaxLength, registerDecorator, ValidationOptions } from 'class-validator';
import { canonicalJson } from '../ai.keys';
import { MAX_QUERY_CHARS } from '../ai.service';

/** Longest context accepted, measured as canonical JSON. */
export const MAX_CONTEXT_CHARS = 16000;

function MaxJsonLength(max: number, options?: ValidationOptions) {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'maxJsonLength',
      target: target.constructor,
      propertyName,
      options,
      validator: { validate: (value: unknown) => value === undefined || canonicalJson(value).length <= max },
    });
}

/**
 * POST /api/ai/complete. A query over MAX_QUERY_CHARS (a 100 KB one too) is a
 * 400 with the field message: the body itself is within the global 1 MB
 * limit, so it is the field that is wrong; bodies over 1 MB are 413.
 */
export class CompleteDto {
  @IsString({ message: 'query must be a string' })
  @Matches(/\S/, { message: 'query must not be empty' })
  @MaxLength(MAX_QUERY_CHARS, { message: `query must be at most ${MAX_QUERY_CHARS} characters` })
  query!: string;

  @IsOptional()
  @IsObject({ message: 'context must be a JSON object' })
  @MaxJsonLength(MAX_CONTEXT_CHARS, { message: `context must be at most ${MAX_CONTEXT_CHARS} characters of JSON` })
  context?: Record<string, unknown>;
}
