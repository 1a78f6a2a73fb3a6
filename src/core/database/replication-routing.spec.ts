import { isWriteStatement, operationOf, routeQueryRunner } from './replication-routing';

const base = { requested: 'slave' as const, stickyEnabled: true, unitWrote: false, userWithinWindow: false, replicaAvailable: true };

describe('routeQueryRunner', () => {
  it('sends a read of a fresh unit of work to the replica', () => {
    expect(routeQueryRunner(base)).toBe('slave');
  });
  it('keeps writes on the primary', () => {
    expect(routeQueryRunner({ ...base, requested: 'master' })).toBe('master');
  });
  it('sends reads to the primary once the unit has written', () => {
    expect(routeQueryRunner({ ...base, unitWrote: true })).toBe('master');
  });
  it('sends reads to the primary inside the user read-your-writes window', () => {
    expect(routeQueryRunner({ ...base, userWithinWindow: true })).toBe('master');
  });
  it('ignores both when sticky is off', () => {
    expect(routeQueryRunner({ ...base, stickyEnabled: false, unitWrote: true, userWithinWindow: true })).toBe('slave');
  });
  it('falls back to the primary when no replica is available', () => {
    expect(routeQueryRunner({ ...base, replicaAvailable: false })).toBe('master');
  });
});

describe('isWriteStatement', () => {
  it.each(['SELECT 1', ' select * from x', '(SELECT 1) UNION (SELECT 2)', 'START TRANSACTION', 'COMMIT', 'ROLLBACK', 'SHOW TABLES', 'SET NAMES utf8mb4', 'WITH a AS (SELECT 1) SELECT * FROM a'])(
    'treats %s as not writing',
    (sql) => expect(isWriteStatement(sql)).toBe(false),
  );
  it.each(['INSERT INTO x VALUES (1)', 'update x set a=1', 'DELETE FROM x', 'REPLACE INTO x VALUES (1)', 'CREATE TABLE t (a int)'])(
    'treats %s as writing',
    (sql) => expect(isWriteStatement(sql)).toBe(true),
  );
});

describe('operationOf', () => {
  it('labels statements with a bounded set of verbs', () => {
    expect(operationOf('SELECT 1')).toBe('select');
    expect(operationOf('insert into x')).toBe('insert');
    expect(operationOf('START TRANSACTION')).toBe('transaction');
    expect(operationOf('ALTER TABLE x')).toBe('other');
  });
});
