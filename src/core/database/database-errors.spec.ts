import { createConnection } from 'mysql2';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { QueryFailedError } from 'typeorm';
import { isDatabaseUnavailable } from './database-errors';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

describe('isDatabaseUnavailable', () => {
  it("recognises mysql2's own error for a refused connection (fatal), bare or wrapped by TypeORM", async () => {
    const port = await freePort();
    const conn = createConnection({ host: '127.0.0.1', port, user: 'x', connectTimeout: 2000 });
    const err = await new Promise<unknown>((resolve) => conn.connect((e) => resolve(e)));
    expect(isDatabaseUnavailable(err)).toBe(true);
    expect(isDatabaseUnavailable(new QueryFailedError('SELECT 1', [], err as Error))).toBe(true);
  });

  it('recognises lost connections and pools with no node online by their codes', () => {
    expect(isDatabaseUnavailable(Object.assign(new Error('x'), { code: 'PROTOCOL_CONNECTION_LOST' }))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('x'), { code: 'POOL_NONEONLINE' }))).toBe(true);
  });

  it("does not take a Redis connection error (ECONNREFUSED without mysql2's fatal flag) or a statement error for the database", () => {
    expect(isDatabaseUnavailable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED', syscall: 'connect' }))).toBe(false);
    expect(isDatabaseUnavailable(new QueryFailedError('INSERT', [], Object.assign(new Error('dup'), { code: 'ER_DUP_ENTRY' })))).toBe(false);
    expect(isDatabaseUnavailable(new Error('Pool does not exist.'))).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });
});
