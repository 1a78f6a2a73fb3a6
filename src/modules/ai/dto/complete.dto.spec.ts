import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { VALIDATION_OPTIONS } from '../../../core/validation/dto-validation';
import { CompleteDto, MAX_CONTEXT_DEPTH } from './complete.dto';

const nested = (levels: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
};
const problems = (body: object) => validateSync(plainToInstance(CompleteDto, body), VALIDATION_OPTIONS).map((e) => e.property);

describe('CompleteDto', () => {
  it(`takes a context nested ${MAX_CONTEXT_DEPTH} levels and refuses one level more`, () => {
    expect(problems({ query: 'q', context: nested(MAX_CONTEXT_DEPTH) })).toEqual([]);
    expect(problems({ query: 'q', context: nested(MAX_CONTEXT_DEPTH + 1) })).toEqual(['context']);
  });

  it('refuses a far deeper context too (the request pipeline refuses bodies past 32 levels before any DTO runs)', () => {
    expect(problems({ query: 'q', context: nested(1000) })).toEqual(['context']);
  });
});
