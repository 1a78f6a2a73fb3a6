import { AppConfig } from './app-config';
import { ConfigError, parseEnv } from './env.schema';

describe('parseEnv', () => {
  it('fills every default of SPEC §3', () => {
    const c = new AppConfig(parseEnv({}));
    expect(c.http.port).toBe(3000);
    expect(c.db.sticky).toBe(true);
    expect(c.db.stickyWindowMs).toBe(2000);
    expect(c.db.poolSize).toBe(10);
    expect(c.db.read).toEqual([c.db.write]);
    expect(c.realtime).toMatchObject({ maxConnections: 3000, maxConnectionsPerIp: 50, authTimeoutMs: 5000, maxRoomsPerSocket: 10, sseHistory: 1000 });
    expect(c.queue).toMatchObject({ names: ['high', 'default'], tries: 3, backoffMs: 2000 });
    expect(c.ai).toMatchObject({ providers: ['local'], concurrency: 10, batchWindowMs: 20, timeoutMs: 15000, cacheTtlS: 3600 });
  });

  it('parses replica lists with and without ports', () => {
    const c = new AppConfig(parseEnv({ DB_WRITE_HOST: 'db1', DB_WRITE_PORT: '3307', DB_READ_HOST: 'r1:3308, r2' }));
    expect(c.db.read).toEqual([
      { host: 'r1', port: 3308 },
      { host: 'r2', port: 3307 },
    ]);
  });

  it.each([
    [{ PORT: '70000' }, 'PORT must be between 1 and 65535'],
    [{ DB_POOL_SIZE: '-1' }, 'DB_POOL_SIZE must be a whole number'],
    [{ DB_READ_HOST: 'a b' }, 'DB_READ_HOST must be host[:port]'],
    [{ AI_PROVIDERS: 'magic' }, 'AI_PROVIDERS must list providers'],
    [{ NODE_ENV: 'production' }, 'SESSION_SECRET is required in production'],
  ])('names the variable in one line for %j', (env, message) => {
    expect(() => parseEnv(env)).toThrow(ConfigError);
    expect(() => parseEnv(env)).toThrow(message);
  });
});
