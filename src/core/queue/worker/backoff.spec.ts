import { backoffDelayMs, parseBackoff } from './backoff';

describe('backoff (seconds, as Laravel)', () => {
  it('doubles a single value on each retry', () => {
    const b = parseBackoff('--backoff', '3');
    expect([1, 2, 3].map((r) => backoffDelayMs(b, r))).toEqual([3000, 6000, 12000]);
  });

  it('takes a list per retry, the last one repeating', () => {
    const b = parseBackoff('--backoff', '1,5,10');
    expect([1, 2, 3, 4, 9].map((r) => backoffDelayMs(b, r))).toEqual([1000, 5000, 10000, 10000, 10000]);
  });

  it('accepts fractions of a second and zero', () => {
    expect(backoffDelayMs(parseBackoff('--backoff', '0.25'), 1)).toBe(250);
    expect(backoffDelayMs(parseBackoff('--backoff', '0'), 4)).toBe(0);
  });

  it.each(['', '-1', '1,,2', 'abc', '1ms', '1e3'])('refuses %p naming the flag', (v) => {
    expect(() => parseBackoff('--backoff', v)).toThrow(/--backoff must be seconds/);
  });
});
