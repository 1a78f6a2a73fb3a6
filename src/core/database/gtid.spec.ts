import { covers, parseGtidPosition, samePosition } from './gtid';

describe('MariaDB GTID positions', () => {
  it('reads one sequence number per domain, keeping the highest', () => {
    expect(parseGtidPosition('0-1-100,1-2-7')).toEqual(new Map([[0, 100n], [1, 7n]]));
    expect(parseGtidPosition(' 0-1-5 , 0-2-9 ')).toEqual(new Map([[0, 9n]]));
    expect(parseGtidPosition('')).toEqual(new Map());
    expect(parseGtidPosition('3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5')).toEqual(new Map());
  });

  it('says a replica covers a primary position when every domain is at least as far', () => {
    const primary = parseGtidPosition('0-1-100,1-1-7');
    expect(covers(parseGtidPosition('0-1-100,1-1-7'), primary)).toBe(true);
    expect(covers(parseGtidPosition('0-1-101,1-1-9,2-1-1'), primary)).toBe(true);
    expect(covers(parseGtidPosition('0-1-99,1-1-7'), primary)).toBe(false);
    expect(covers(parseGtidPosition('0-1-100'), primary)).toBe(false);
    expect(covers(parseGtidPosition(''), parseGtidPosition(''))).toBe(true);
  });

  it('compares positions', () => {
    expect(samePosition(parseGtidPosition('0-1-1,1-1-2'), parseGtidPosition('1-1-2,0-1-1'))).toBe(true);
    expect(samePosition(parseGtidPosition('0-1-1'), parseGtidPosition('0-1-2'))).toBe(false);
  });
});
