import { BadRequestError } from './domain-error';
import { assertInputBounds, assertQueryBounds, PayloadTooLargeError } from './input-bounds';

const nested = (levels: number) => {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
};

describe('assertInputBounds', () => {
  it('takes a wide array that once overflowed the stack, answering 413 without recursing', () => {
    expect(() => assertInputBounds(new Array(130_000).fill(0), 'Request body')).toThrow(PayloadTooLargeError);
    expect(() => assertInputBounds(new Array(10_000).fill(0), 'Request body')).not.toThrow();
  });

  it('counts elements across the whole value, not per container', () => {
    const rows = Array.from({ length: 200 }, () => new Array<string>(60).fill('x'));
    expect(() => assertInputBounds(rows, 'Request body')).toThrow('Request body has more than 10000 elements');
  });

  it('allows 32 levels and refuses the 33rd, however deep the rest goes', () => {
    expect(() => assertInputBounds(nested(32), 'Request body')).not.toThrow();
    expect(() => assertInputBounds(nested(33), 'Request body')).toThrow(new BadRequestError('Request body is nested deeper than 32 levels'));
    expect(() => assertInputBounds(nested(100_000), 'Request body')).toThrow(BadRequestError);
  });

  it('takes primitives and own __proto__ keys as plain data', () => {
    for (const v of [null, 0, 'x', true, undefined]) expect(() => assertInputBounds(v, 'Payload')).not.toThrow();
    expect(() => assertInputBounds(JSON.parse('{"__proto__":{"a":[1,2]}}'), 'Payload')).not.toThrow();
  });
});

describe('assertQueryBounds', () => {
  it('refuses more than 100 parameters', () => {
    expect(() => assertQueryBounds('/x?' + Array.from({ length: 100 }, (_, i) => `k${i}=1`).join('&'))).not.toThrow();
    expect(() => assertQueryBounds('/x?' + Array.from({ length: 5000 }, (_, i) => `k${i}=1`).join('&'))).toThrow(BadRequestError);
    expect(() => assertQueryBounds('/x')).not.toThrow();
  });
});
