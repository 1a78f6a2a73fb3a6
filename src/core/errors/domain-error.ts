/**
 * Errors services throw: a stable code that one HTTP filter and one WS
 * filter map to a status or an ack. Services never throw HttpException.
 */
export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'room_limit'
  | 'connection_limit'
  | 'ip_limit'
  | 'auth_timeout'
  | 'unavailable'
  | 'internal';

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class BadRequestError extends DomainError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('bad_request', message, details);
  }
}
export class UnauthorizedError extends DomainError {
  constructor(message = 'Authentication required') {
    super('unauthorized', message);
  }
}
export class ForbiddenError extends DomainError {
  constructor(message = 'Forbidden') {
    super('forbidden', message);
  }
}
export class NotFoundError extends DomainError {
  constructor(what: string) {
    super('not_found', `${what} not found`);
  }
}
export class ConflictError extends DomainError {
  constructor(message: string) {
    super('conflict', message);
  }
}
export class UnsupportedMediaTypeError extends DomainError {
  constructor(message: string) {
    super('unsupported_media_type', message);
  }
}
export class RateLimitedError extends DomainError {
  constructor(
    readonly retryAfterMs: number,
    message = 'Too many requests',
  ) {
    super('rate_limited', message, { retryAfterMs });
  }
}
export class UnavailableError extends DomainError {
  constructor(message = 'Service temporarily unavailable') {
    super('unavailable', message);
  }
}

export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  room_limit: 429,
  connection_limit: 503,
  ip_limit: 429,
  auth_timeout: 401,
  unavailable: 503,
  internal: 500,
};
