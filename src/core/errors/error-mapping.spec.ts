import { BadRequestException, NotFoundException } from '@nestjs/common';
import { ReplyError } from 'ioredis';
import { QueryFailedError } from 'typeorm';
import { ForbiddenError, RateLimitedError } from './domain-error';
import { DatabaseBusyError, isDatabaseBusy } from '../database/database-errors';
import { mapError } from './error-mapping';

describe('mapError', () => {
  it('maps a domain error code to its status', () => {
    expect(mapError(new ForbiddenError('Not a member')).body).toEqual({
      statusCode: 403,
      error: 'Forbidden',
      message: 'Not a member',
      code: 'forbidden',
    });
  });

  it('sets Retry-After in whole seconds for rate limits', () => {
    const m = mapError(new RateLimitedError(1500));
    expect(m.body.statusCode).toBe(429);
    expect(m.headers).toEqual({ 'Retry-After': '2' });
  });

  it('keeps validation messages per field', () => {
    const m = mapError(new BadRequestException(['email must be an email']));
    expect(m.body).toEqual({ statusCode: 400, error: 'Bad Request', message: ['email must be an email'] });
    expect(mapError(new NotFoundException()).body.statusCode).toBe(404);
  });

  it('turns body-parser failures into 413 and 400', () => {
    expect(mapError({ type: 'entity.too.large', status: 413, message: 'x' }).body.statusCode).toBe(413);
    expect(mapError({ type: 'entity.parse.failed', status: 400, message: 'Unexpected token' }).body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'Malformed JSON in request body',
    });
  });

  it('never shows SQL: a failed query is a plain 500, a duplicate a 409', () => {
    const sql = 'SELECT secret FROM users';
    const failed = mapError(new QueryFailedError(sql, [], Object.assign(new Error('syntax'), { code: 'ER_PARSE_ERROR' })));
    expect(failed.body).toEqual({ statusCode: 500, error: 'Internal Server Error', message: 'Internal server error' });
    expect(failed.unexpected).toBe(true);
    const dup = mapError(new QueryFailedError(sql, [], Object.assign(new Error('dup'), { code: 'ER_DUP_ENTRY' })));
    expect(dup.body.statusCode).toBe(409);
  });

  it('answers 503 naming the database only for database failures (by mysql2 code or fatal flag)', () => {
    const lost = Object.assign(new Error('Connection lost'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true });
    expect(mapError(lost).body).toEqual({ statusCode: 503, error: 'Service Unavailable', message: 'Database unavailable' });
    // A Redis connect error has the same network code but is not mysql2's: never "Database unavailable".
    const redisRefused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED', syscall: 'connect' });
    expect(mapError(redisRefused).body.message).not.toBe('Database unavailable');
  });

  it('answers 503 Database busy with Retry-After when the pool queue is full (an overloaded process, not a fault), and only then', () => {
    const full = mapError(new Error('Queue limit reached.'));
    expect(full).toEqual({ body: { statusCode: 503, error: 'Service Unavailable', message: 'Database busy', retryAfterMs: 1000 }, unexpected: false, headers: { 'Retry-After': '1' } });
    // The same words with a code are someone else's error.
    expect(mapError(Object.assign(new Error('Queue limit reached.'), { code: 'X' })).body.statusCode).toBe(500);
    // Our own shedding (ReplicationRouter, before mysql2's queue) is the same answer.
    expect(mapError(new DatabaseBusyError())).toEqual(full);
  });

  it('answers 503 for a Redis reply that means "not now", and not for an error that only reads like a Redis one', () => {
    const loading = new (ReplyError as new (m: string) => Error)('LOADING Redis is loading the dataset in memory');
    expect(mapError(loading).body).toEqual({ statusCode: 503, error: 'Service Unavailable', message: 'Redis unavailable' });
    expect(mapError(new Error("Stream isn't writeable and enableOfflineQueue options is false")).body.statusCode).toBe(500);
  });
});

describe('the pool-full error as mysql2 raises it', () => {
  it('is the one isDatabaseBusy knows (a library update that renames it fails here)', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mysql = require('mysql2') as typeof import('mysql2');
    // Nothing listens on port 9: the one connection is pending or refused, the second request waits, the third is refused.
    const pool = mysql.createPool({ host: '127.0.0.1', port: 9, connectionLimit: 1, queueLimit: 1, connectTimeout: 500 });
    const tries = [0, 1, 2].map(() => new Promise<Error | null>((resolve) => pool.getConnection((err) => resolve(err))));
    const third = await tries[2];
    expect(third?.message).toBe('Queue limit reached.');
    expect(isDatabaseBusy(third)).toBe(true);
    expect(isDatabaseBusy(await tries[0])).toBe(false); // the refused connect is a fault, not load
    await Promise.all(tries);
    await new Promise<void>((r) => pool.end(() => r()));
  });
});
