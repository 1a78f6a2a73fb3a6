import type { Request } from 'express';
import { BadRequestError } from '../errors/domain-error';
import { parsePosition, Position } from './position';

/**
 * Where an SSE client asks to resume: `none` (a fresh stream), a position
 * (`at`: position.ts; one shard: the plain id) it may have seen, or `beyond` —
 * nothing this log can place: digits too large to be any id we hand out (past
 * Number.MAX_SAFE_INTEGER, where two ids would compare equal) or a position of
 * another shard layout (a plain id from before REALTIME_SHARDS > 1). The caller
 * compares `at` with the newest position too: both cases beyond the newest are
 * a gap, never a stream muted until the ids catch up.
 */
export type ResumePoint = { kind: 'none' } | { kind: 'at'; position: Position } | { kind: 'beyond' };

/**
 * The `Last-Event-ID` header or `?lastEventId=` (for clients that cannot set
 * headers). Anything but one whole number is a 400: a repeated header arrives
 * joined with commas, a repeated parameter as an array, and guessing which
 * one the client meant could replay the wrong events or none.
 */
export function resumePoint(req: Request, shards = 1): ResumePoint {
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
  const parsed = parsePosition(raw, shards);
  if (!parsed) throw new BadRequestError(shards === 1 ? 'Last-Event-ID must be an event id (a whole number)' : 'Last-Event-ID must be an event id');
  return parsed.kind === 'at' ? { kind: 'at', position: parsed.position } : { kind: 'beyond' };
}
