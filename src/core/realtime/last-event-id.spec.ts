import type { Request } from 'express';
import { BadRequestError } from '../errors/domain-error';
import { resumePoint } from './last-event-id';

const req = (header?: string, query?: unknown) => ({ headers: header === undefined ? {} : { 'last-event-id': header }, query: query === undefined ? {} : { lastEventId: query } }) as unknown as Request;

describe('resumePoint', () => {
  it('reads the header or the query parameter', () => {
    expect(resumePoint(req())).toEqual({ kind: 'none' });
    expect(resumePoint(req('42'))).toEqual({ kind: 'at', position: [42] });
    expect(resumePoint(req(undefined, '7'))).toEqual({ kind: 'at', position: [7] });
    expect(resumePoint(req('7', '7'))).toEqual({ kind: 'at', position: [7] });
  });

  it('calls ids past Number.MAX_SAFE_INTEGER beyond, not a rounded number', () => {
    expect(resumePoint(req('9007199254740993'))).toEqual({ kind: 'beyond' });
    expect(resumePoint(req('9'.repeat(40)))).toEqual({ kind: 'beyond' });
    expect(resumePoint(req(String(Number.MAX_SAFE_INTEGER)))).toEqual({ kind: 'at', position: [Number.MAX_SAFE_INTEGER] });
  });

  it('with several shards takes a position in either form: one of this layout, or a plain id from before (beyond: told gap)', () => {
    expect(resumePoint(req('5.0.7'), 3)).toEqual({ kind: 'at', position: [5, 0, 7] });
    expect(resumePoint(req(undefined, '5.0.7'), 3)).toEqual({ kind: 'at', position: [5, 0, 7] });
    expect(resumePoint(req('42'), 3)).toEqual({ kind: 'beyond' });
    expect(resumePoint(req('5.7'), 3)).toEqual({ kind: 'beyond' });
    expect(() => resumePoint(req('5..7'), 3)).toThrow(BadRequestError);
    expect(() => resumePoint(req('5.0.7', '5.0.8'), 3)).toThrow(BadRequestError);
  });

  it.each([
    ['not a number', req('abc')],
    ['a fraction', req('1.5')],
    ['negative', req('-1')],
    ['a repeated header', req('5, 6')],
    ['a repeated parameter', req(undefined, ['1', '2'])],
    ['header and query that disagree', req('1', '2')],
    ['absurdly long', req('1'.repeat(65))],
  ])('refuses %s', (_what, r) => {
    expect(() => resumePoint(r)).toThrow(BadRequestError);
  });
});
