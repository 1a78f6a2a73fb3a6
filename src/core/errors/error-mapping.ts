import { HttpException, HttpStatus } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { isDatabaseBusy, isDatabaseUnavailable } from '../database/database-errors';
import { isRedisUnavailable } from '../redis/redis-errors';
import { DomainError, STATUS_BY_CODE } from './domain-error';

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string | string[];
  code?: string;
  retryAfterMs?: number;
}

export interface MappedError {
  body: ErrorBody;
  /** Unexpected: log it with its stack (the client never sees the stack). */
  unexpected: boolean;
  headers?: Record<string, string>;
}

function reason(status: number): string {
  const name = HttpStatus[status] as string | undefined;
  return name ? name.toLowerCase().split('_').map((w) => w[0].toUpperCase() + w.slice(1)).join(' ') : 'Error';
}

/** One mapping from anything thrown to the SPEC §4 error body. Pure. */
export function mapError(err: unknown): MappedError {
  if (err instanceof DomainError) {
    const statusCode = STATUS_BY_CODE[err.code];
    const body: ErrorBody = { statusCode, error: reason(statusCode), message: err.message, code: err.code };
    const retryAfterMs = err.details?.retryAfterMs;
    if (typeof retryAfterMs === 'number') {
      body.retryAfterMs = retryAfterMs;
      return { body, unexpected: false, headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) } };
    }
    return { body, unexpected: false };
  }
  if (err instanceof HttpException) {
    const statusCode = err.getStatus();
    const res = err.getResponse();
    const message =
      typeof res === 'string' ? res : ((res as { message?: string | string[] }).message ?? err.message);
    return { body: { statusCode, error: reason(statusCode), message }, unexpected: false };
  }
  const e = err as { type?: string; status?: number; statusCode?: number; message?: string; code?: string };
  // body-parser errors carry a status and a type.
  if (e && typeof e.type === 'string' && typeof (e.status ?? e.statusCode) === 'number') {
    const statusCode = (e.status ?? e.statusCode) as number;
    const message =
      e.type === 'entity.too.large'
        ? 'Request body is too large'
        : e.type === 'entity.parse.failed'
          ? 'Malformed JSON in request body'
          : statusCode < 500
            ? 'Bad request body'
            : 'Internal server error';
    return { body: { statusCode, error: reason(statusCode), message }, unexpected: statusCode >= 500 };
  }
  // By the error's origin and code (database-errors.ts, redis-errors.ts), never its message.
  if (isDatabaseUnavailable(err)) {
    return { body: { statusCode: 503, error: reason(503), message: 'Database unavailable' }, unexpected: false };
  }
  // Load shed by this process, not a fault: retry soon (the next try may reach another process).
  if (isDatabaseBusy(err)) {
    return { body: { statusCode: 503, error: reason(503), message: 'Database busy', retryAfterMs: 1000 }, unexpected: false, headers: { 'Retry-After': '1' } };
  }
  if (err instanceof QueryFailedError) {
    const code = (err.driverError as { code?: string } | undefined)?.code;
    if (code === 'ER_DUP_ENTRY') return { body: { statusCode: 409, error: reason(409), message: 'Already exists' }, unexpected: false };
    return { body: { statusCode: 500, error: reason(500), message: 'Internal server error' }, unexpected: true };
  }
  if (isRedisUnavailable(err)) {
    return { body: { statusCode: 503, error: reason(503), message: 'Redis unavailable' }, unexpected: false };
  }
  return { body: { statusCode: 500, error: reason(500), message: 'Internal server error' }, unexpected: true };
}
