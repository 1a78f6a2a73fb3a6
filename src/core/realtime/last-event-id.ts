import type { Request } from 'express';
import { BadRequestError } from '../errors/domain-error';

/**
 * Where an SSE client asks to resume: `none` (a fresh stream), an `id` it
 * may have seen, or `beyond` — digits too large to be any id we hand out
 * (past Number.MAX_SAFE_INTEGER, where two ids would compare equal). The
 * caller compares `id` with the newest id too: both cases beyond the newest
 * are a gap, never a stream muted until the ids catch up.
 */
export type ResumePoint = { kind: 'none' } | { kind: 'id'; id: number } | { kind: 'beyond' };

const DIGITS = /^[0-9]{1,64}$/;

/**
 * The `Last-Event-ID` header or `?lastEventId=` (for clients that cannot set
 * headers). Anything but one whole number is a 400: a repeated header arrives
 * joined with commas, a repeated parameter as an array, and guessing which
 * one the client meant could replay the wrong events or none.
 */
export function resumePoint(req: Request): ResumePoint {
  const header = req.headers['last-event-id'];
  const query = req.query.lastEventId;
  if (Array.isArray(query) || Array.isArray(header)) throw new BadRequestError('Last-Event-ID given more than once');
  if (query !== undefined && typeof query !== 'string') throw new BadRequestError('lastEventId must be an event id');
  const fromHeader = header === undefined || header === '' ? undefined : header;
  const fromQuery = query === undefined || query === '' ? undefined : query;
  if (fromHeader !== undefined && fromQuery !== undefined && fromHeader.trim() !== fromQuery.trim()) {
    throw new BadRequestError('Last-Event-ID and lastEventId disagree');
  }
  const raw = (fromHeader ?? fromQuery)?.trim();
  if (raw === undefined || raw === '') return { kind: 'none' };
  if (raw.includes(',')) throw new BadRequestError('Last-Event-ID given more than once');
  if (!DIGITS.test(raw)) throw new BadRequestError('Last-Event-ID must be an event id (a whole number)');
  const id = Number(raw);
  return Number.isSafeInteger(id) ? { kind: 'id', id } : { kind: 'beyond' };
}
