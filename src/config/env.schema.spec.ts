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
    expect(c.queue).toMatchObject({ names: ['high', 'default'], tries: 3, backoff: [2] });
    expect(c.ai).toMatchObject({ providers: ['local'], concurrency: 10, batchWindowMs: 20, timeoutMs: 15000, cacheTtlS: 3600, cacheScope: 'global' });
    expect(c.http).toMatchObject({ loginThrottleAttempts: 5, loginThrottleDecayS: 60 });
    expect(c.http.trustedProxies.trusts('127.0.0.1')).toBe(true);
    expect(c.http.trustedProxies.trusts('10.0.0.1')).toBe(false);
  });

  it('makes up secrets of its own outside production, never a published one', () => {
    const a = new AppConfig(parseEnv({}));
    const b = new AppConfig(parseEnv({}));
    expect(a.auth.generatedSecrets).toEqual(['SESSION_SECRET', 'JWT_SECRET']);
    expect(a.auth.jwtSecret).toHaveLength(64);
    expect(a.auth.jwtSecret).not.toBe(b.auth.jwtSecret);
    expect(new AppConfig(parseEnv({ JWT_SECRET: 'j'.repeat(32), SESSION_SECRET: 's'.repeat(32) })).auth.generatedSecrets).toEqual([]);
  });

  it('never echoes a rejected value', () => {
    for (const env of [{ SESSION_SECRET: 'hunter2-secret' }, { REDIS_URL: 'redis//:pa55-secret@host' }, { DB_POOL_SIZE: 'pa55-secret' }]) {
      expect(() => parseEnv(env)).toThrow(ConfigError);
      expect(() => parseEnv(env)).not.toThrow(/secret"|pa55|hunter2/);
    }
    expect(() => parseEnv({ SESSION_SECRET: 'hunter2-secret' })).toThrow('Invalid configuration: SESSION_SECRET must be at least 16 characters');
  });

  it('reads QUEUE_BACKOFF in seconds, and the old QUEUE_BACKOFF_MS with a deprecation line', () => {
    expect(new AppConfig(parseEnv({ QUEUE_BACKOFF: '1,5,10' })).queue.backoff).toEqual([1, 5, 10]);
    const old = new AppConfig(parseEnv({ QUEUE_BACKOFF_MS: '1500' }));
    expect(old.queue.backoff).toEqual([1.5]);
    expect(old.deprecations).toEqual([expect.stringContaining('QUEUE_BACKOFF=1.5')]);
    expect(new AppConfig(parseEnv({ QUEUE_BACKOFF: '3', QUEUE_BACKOFF_MS: '1500' })).queue.backoff).toEqual([3]);
    expect(() => parseEnv({ QUEUE_BACKOFF: '3ms' })).toThrow('Invalid configuration: QUEUE_BACKOFF must be seconds');
  });

  it("reads Laravel's .env as Laravel does: hosts without a port on DB_PORT (3306), REDIS_HOST/PORT and REDIS_PASSWORD=null", () => {
    const seed = new AppConfig(parseEnv({ DB_WRITE_HOST: 'db-primary', DB_READ_HOST: 'db-replica-1,db-replica-2', REDIS_HOST: 'cache', REDIS_PASSWORD: 'null' }));
    expect(seed.db.write).toEqual({ host: 'db-primary', port: 3306 });
    expect(seed.db.read).toEqual([
      { host: 'db-replica-1', port: 3306 },
      { host: 'db-replica-2', port: 3306 },
    ]);
    expect(seed.redis).toMatchObject({ url: 'redis://cache:6379', password: undefined });
    const ported = new AppConfig(parseEnv({ DB_WRITE_HOST: 'db', DB_PORT: '3310', DB_READ_HOST: 'r1', REDIS_HOST: 'cache', REDIS_PORT: '6380', REDIS_PASSWORD: 's3cret' }));
    expect([ported.db.write.port, ported.db.read[0].port]).toEqual([3310, 3310]);
    expect(ported.redis).toMatchObject({ url: 'redis://cache:6380', password: 's3cret' });
    expect(new AppConfig(parseEnv({ REDIS_URL: 'redis://x:1', REDIS_HOST: 'cache' })).redis.url).toBe('redis://x:1');
  });

  it('points at the local stack when no service is configured', () => {
    const c = new AppConfig(parseEnv({}));
    expect(c.db.write).toEqual({ host: '127.0.0.1', port: 13306 });
    expect(c.redis.url).toBe('redis://127.0.0.1:16379');
  });

  it('parses replica lists with and without ports (a replica without one is on DB_PORT, 3306, not on the write port)', () => {
    const c = new AppConfig(parseEnv({ DB_WRITE_HOST: 'db1', DB_WRITE_PORT: '3307', DB_READ_HOST: 'r1:3308, r2' }));
    expect(c.db.read).toEqual([
      { host: 'r1', port: 3308 },
      { host: 'r2', port: 3306 },
    ]);
    expect(new AppConfig(parseEnv({ DB_WRITE_HOST: 'db1', DB_PORT: '3310', DB_READ_HOST: 'r1,r2:3311' })).db.read).toEqual([
      { host: 'r1', port: 3310 },
      { host: 'r2', port: 3311 },
    ]);
  });

  it('reads REALTIME_SHARDS: 1 by default (the one {rt} log), up to 64', () => {
    expect(new AppConfig(parseEnv({})).realtime.shards).toBe(1);
    expect(new AppConfig(parseEnv({ REALTIME_SHARDS: '3' })).realtime.shards).toBe(3);
    expect(() => parseEnv({ REALTIME_SHARDS: '0' })).toThrow('REALTIME_SHARDS must be');
    expect(() => parseEnv({ REALTIME_SHARDS: '65' })).toThrow('REALTIME_SHARDS must be');
  });

  it('locks jobs 5 s with one Redis and 15 s on Sentinel or a Cluster (a lock must outlive a failover), unless QUEUE_LOCK_MS says', () => {
    expect(new AppConfig(parseEnv({})).queue.lockMs).toBe(5000);
    expect(new AppConfig(parseEnv({ REDIS_SENTINELS: 'a:26379,b:26379' })).queue.lockMs).toBe(15000);
    expect(new AppConfig(parseEnv({ REDIS_CLUSTER_NODES: 'a:6379,b:6379' })).queue.lockMs).toBe(15000);
    expect(new AppConfig(parseEnv({ REDIS_CLUSTER_NODES: 'a:6379', QUEUE_LOCK_MS: '4000' })).queue.lockMs).toBe(4000);
  });

  it('reads DB_REPLICA_MAX_LAG_S in whole seconds, 5 by default, 0 to turn the lag check off', () => {
    expect(new AppConfig(parseEnv({})).db.replicaMaxLagS).toBe(5);
    expect(new AppConfig(parseEnv({ DB_REPLICA_MAX_LAG_S: '0' })).db.replicaMaxLagS).toBe(0);
    expect(() => parseEnv({ DB_REPLICA_MAX_LAG_S: '2.5' })).toThrow('DB_REPLICA_MAX_LAG_S must be a whole number');
    expect(() => parseEnv({ DB_REPLICA_MAX_LAG_S: '-1' })).toThrow('DB_REPLICA_MAX_LAG_S must be a whole number');
  });

  it.each([
    [{ PORT: '70000' }, 'PORT must be between 1 and 65535'],
    [{ DB_POOL_SIZE: '-1' }, 'DB_POOL_SIZE must be a whole number'],
    [{ DB_READ_HOST: 'a b' }, 'DB_READ_HOST must be host[:port]'],
    [{ AI_PROVIDERS: 'magic' }, 'AI_PROVIDERS must list providers'],
    [{ NODE_ENV: 'production' }, 'SESSION_SECRET is required in production'],
    [{ NODE_ENV: 'production', SESSION_SECRET: 's'.repeat(32), JWT_SECRET: 'switchboard-development-jwt-secret' }, 'JWT_SECRET is a published example value'],
    [{ NODE_ENV: 'production', SESSION_SECRET: 'compose-session-secret-change-me', JWT_SECRET: 'j'.repeat(32) }, 'SESSION_SECRET is a published example value'],
    [{ TRUSTED_PROXIES: 'loopback, 10.0.0.0/33' }, 'TRUSTED_PROXIES must be CIDRs'],
    [{ AI_CACHE_SCOPE: 'team' }, 'AI_CACHE_SCOPE must be global or user'],
  ])('names the variable in one line for %j', (env, message) => {
    expect(() => parseEnv(env)).toThrow(ConfigError);
    expect(() => parseEnv(env)).toThrow(message);
  });
});
