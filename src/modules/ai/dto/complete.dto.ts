import { IsOptional, IsString, Matches, MaxLength, registerDecorator, ValidationOptions } from 'class-validator';
import { isWithinInputBounds } from '../../../core/errors/input-bounds';
import type { AiContext } from '../providers/ai-provider';
import { canonicalJson } from '../ai.keys';
import { MAX_QUERY_CHARS } from '../ai.service';

/** Longest context accepted, measured as canonical JSON, and its deepest nesting. */
export const MAX_CONTEXT_CHARS = 16000;
export const MAX_CONTEXT_DEPTH = 16;

function SmallJson(maxChars: number, maxDepth: number, options?: ValidationOptions) {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'smallJson',
      target: target.constructor,
      propertyName,
      options,
      validator: {
        // The bounds walk every input gets (input-bounds.ts), with this field's own depth: cheap, and it stops early.
        validate: (value: unknown) => value === undefined || (isWithinInputBounds(value, maxDepth) && canonicalJson(value).length <= maxChars),
      },
    });
}

/** Seed 004 sends the context as text; our own clients may send an object. Arrays and other JSON values are not a context. */
function IsStringOrObject(options?: ValidationOptions) {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isStringOrObject',
      target: target.constructor,
      propertyName,
      options,
      validator: {
        validate: (value: unknown) => typeof value === 'string' || (value !== null && typeof value === 'object' && !Array.isArray(value)),
      },
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
  @IsStringOrObject({ message: 'context must be a string or a JSON object' })
  @SmallJson(MAX_CONTEXT_CHARS, MAX_CONTEXT_DEPTH, {
    message: `context must be at most ${MAX_CONTEXT_CHARS} characters of JSON, nested at most ${MAX_CONTEXT_DEPTH} deep`,
  })
  context?: AiContext;
}
