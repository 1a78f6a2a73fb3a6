import type { Type } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { ValidationError, ValidatorOptions, validateSync } from 'class-validator';
import { BadRequestError } from '../errors/domain-error';

/**
 * The rules every client input is checked with, on both transports: the HTTP
 * ValidationPipe (api.module.ts) and socket payloads (parsePayload) share
 * them, so a DTO accepts and refuses the same things over either.
 */
export const VALIDATION_OPTIONS: ValidatorOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  stopAtFirstError: false,
};

/** One message per failed rule, nested properties as `parent.child`, as Nest's ValidationPipe words them. */
export function validationMessages(errors: ValidationError[], parent = ''): string[] {
  const out: string[] = [];
  for (const e of errors) {
    const path = parent ? `${parent}.${e.property}` : e.property;
    for (const m of Object.values(e.constraints ?? {})) out.push(parent ? `${parent}.${m}` : m);
    if (e.children?.length) out.push(...validationMessages(e.children, path));
  }
  return out;
}

/**
 * A socket payload checked against a DTO class, as the HTTP ValidationPipe
 * checks a body: the DTO instance, or bad_request with the field messages.
 * Only a JSON object can be a payload (class-transformer would turn an array
 * into an array of instances).
 */
export function parsePayload<T extends object>(dto: Type<T>, data: unknown): T {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new BadRequestError('payload must be an object');
  const instance = plainToInstance(dto, data);
  const errors = validateSync(instance, VALIDATION_OPTIONS);
  if (errors.length) throw new BadRequestError(validationMessages(errors).join('; '));
  return instance;
}
