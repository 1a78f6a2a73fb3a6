import { createPool } from 'mysql2';
import { checkPoolFields, Mysql2Pool, poolFigures } from './mysql2';

describe('core/patches/mysql2', () => {
  it("reads open, idle and waiting connections from the installed mysql2's Pool", async () => {
    const pool = createPool({ host: '127.0.0.1', port: 1, connectionLimit: 7 }); // connects on first use only
    try {
      const check = checkPoolFields(pool);
      expect(check.installed).toMatch(/^3\./);
      expect(check).toMatchObject({ ok: true });
      expect(poolFigures(pool as unknown as Mysql2Pool)).toEqual({ open: 0, idle: 0, waiting: 0, limit: 7 });
    } finally {
      await new Promise((r) => pool.end(r));
    }
  });

  it('says which private counters are missing', () => {
    expect(checkPoolFields({ _allConnections: { length: 1 } })).toMatchObject({ ok: false, reason: 'missing _freeConnections, _connectionQueue' });
    expect(checkPoolFields(undefined)).toMatchObject({ ok: false, reason: 'missing the pool' });
  });
});
