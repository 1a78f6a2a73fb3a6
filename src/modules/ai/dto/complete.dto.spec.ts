import { jsonDepth } from './complete.dto';

describe('jsonDepth', () => {
  it('measures nesting of objects and arrays, scalars being depth 0', () => {
    expect(jsonDepth('x', 16)).toBe(0);
    expect(jsonDepth({}, 16)).toBe(1);
    expect(jsonDepth({ a: [1, { b: 2 }] }, 16)).toBe(3);
  });

  it('walks a hostile 200 000-deep value without overflowing the stack and stops past the limit', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(jsonDepth(deep, 16)).toBe(17);
  });
});
