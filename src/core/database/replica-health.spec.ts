import { Logger } from '@nestjs/common';
import { createConnection } from 'mysql2/promise';
import { AppConfig } from '../../config/app-config';
import { parseEnv } from '../../config/env.schema';
import { PROBE_REUSE_MS, ReplicaHealth } from './replica-health';

jest.mock('mysql2/promise', () => ({ createConnection: jest.fn() }));
const connect = createConnection as unknown as jest.Mock;

const PRIMARY = 3306;
const [R1, R2] = [3307, 3308];
let primaryPos: string;
let replicaPos: Record<number, string>;
let sqlRunning: Record<number, string>;
let down: Set<number>;
/** Bumped by a restart: a connection opened before fails its next query. */
let epoch: Record<number, number>;
/** Rounds the primary was sampled in. */
let primarySamples: number;
let mysql: boolean;

function servers(): void {
  connect.mockImplementation(async ({ port }: { port: number }) => {
    if (down.has(port)) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const openedIn = epoch[port] ?? 0;
    return {
      destroy: () => undefined,
      on: () => undefined,
      query: async ({ sql }: { sql: string }) => {
        // A server that went down fails the queries of connections opened before.
        if (down.has(port) || openedIn !== (epoch[port] ?? 0)) throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
        if (sql.includes('gtid_binlog_pos')) {
          primarySamples++;
          if (mysql) throw Object.assign(new Error("Unknown system variable 'gtid_binlog_pos'"), { errno: 1193 });
          return [[{ pos: primaryPos }]];
        }
        if (sql.includes('gtid_slave_pos')) return [[{ pos: replicaPos[port] }]];
        if (sql === 'SHOW REPLICA STATUS') {
          const running = sqlRunning[port] ?? 'Yes';
          return [[{ Slave_IO_Running: 'Yes', Slave_SQL_Running: running, Seconds_Behind_Master: running === 'Yes' ? 0 : null }]];
        }
        throw new Error(`unexpected ${sql}`);
      },
    };
  });
}

const makeHealth = (env: Record<string, string> = {}) =>
  new ReplicaHealth(
    new AppConfig(parseEnv({ DB_WRITE_HOST: '127.0.0.1', DB_WRITE_PORT: String(PRIMARY), DB_READ_HOST: `127.0.0.1:${R1},127.0.0.1:${R2}`, DB_REPLICA_MAX_LAG_S: '2', ...env })),
  );
const at = (ms: number) => jest.setSystemTime(1_000_000 + ms);
const picks = (h: ReplicaHealth, n: number) => Array.from({ length: n }, () => h.pick());

describe('ReplicaHealth', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });
  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    at(0);
    connect.mockReset();
    primaryPos = '0-1-10';
    replicaPos = { [R1]: '0-1-10', [R2]: '0-1-10' };
    sqlRunning = {};
    down = new Set();
    epoch = {};
    primarySamples = 0;
    mysql = false;
    servers();
  });
  afterEach(() => jest.useRealTimers());

  it('sends each read to a random replica of the pool (SPEC §6), and to the primary before the first probe', async () => {
    const health = makeHealth();
    expect(health.pick()).toBeUndefined();
    await health.check();
    const reads = picks(health, 400);
    const first = reads.filter((i) => i === 0).length;
    expect(reads.filter((i) => i === 1).length).toBe(400 - first); // nothing else picked
    expect(first).toBeGreaterThan(140); // even spread: 200 ± 60 is over six standard deviations
    expect(first).toBeLessThan(260);
    expect(health.status.map((s) => [s.host, s.state, s.inPool])).toEqual([
      ['127.0.0.1:3307', 'ok', true],
      ['127.0.0.1:3308', 'ok', true],
    ]);
  });

  it('takes a replica out once the primary has been past its position for longer than DB_REPLICA_MAX_LAG_S, and back once it has caught up', async () => {
    const health = makeHealth();
    await health.check();
    sqlRunning[R2] = 'No';
    primaryPos = '0-1-11';
    replicaPos[R1] = '0-1-11';
    at(1000);
    await health.check();
    expect(new Set(picks(health, 50))).toEqual(new Set([0, 1])); // 1 s behind: still within 2 s
    at(2100);
    expect(picks(health, 3)).toEqual([0, 0, 0]); // judged at the read, before the next probe
    expect(health.status[1]).toMatchObject({ state: 'lagging', inPool: false, lagSeconds: 2.1, sqlThread: 'No' });
    expect(health.available).toBe(true);
    sqlRunning[R2] = 'Yes';
    replicaPos[R2] = '0-1-11';
    at(2500);
    await health.check();
    expect(health.status[1]).toMatchObject({ state: 'ok', inPool: true });
    expect(new Set(picks(health, 50))).toEqual(new Set([0, 1]));
  });

  it('has no replica to offer when both lag, so reads go to the primary', async () => {
    const health = makeHealth();
    await health.check();
    primaryPos = '0-1-12';
    at(1000);
    await health.check();
    at(3100);
    expect(health.pick()).toBeUndefined();
    expect(health.available).toBe(false);
  });

  it('keeps replicas that had caught up while the primary cannot be sampled', async () => {
    const health = makeHealth();
    await health.check();
    down.add(PRIMARY);
    at(10_000);
    await health.check();
    expect(health.available).toBe(true);
    expect(health.status.map((s) => s.lagSeconds)).toEqual([0, 0]);
  });

  it('takes only the replica a read failed to reach out, until the next probe', async () => {
    const health = makeHealth();
    await health.check();
    health.markDown(0, 'connect ECONNREFUSED');
    expect(picks(health, 2)).toEqual([1, 1]);
    expect(health.status[0]).toMatchObject({ up: false, state: 'down', error: 'connect ECONNREFUSED' });
    at(PROBE_REUSE_MS + 1);
    await health.check();
    expect(health.status[0]).toMatchObject({ up: true, state: 'ok' });
  });

  it('keeps one probe connection per server between rounds, and probes a server that dropped it again on a new one at once', async () => {
    const health = makeHealth();
    await health.check();
    at(1000);
    await health.check();
    at(2000);
    await health.check();
    expect(connect.mock.calls.map(([o]: [{ port: number }]) => o.port).sort()).toEqual([PRIMARY, R1, R2]);
    // R1 restarted since the last round: its old connection fails, a new one answers in the same round.
    epoch[R1] = 1;
    at(3000);
    await health.check();
    expect(health.status[0]).toMatchObject({ state: 'ok', inPool: true, up: true });
    const opened = connect.mock.calls.length;
    expect(connect.mock.calls.at(-1)?.[0]).toMatchObject({ port: R1 });
    at(4000);
    down.add(R2);
    await health.check();
    expect(health.status[1]).toMatchObject({ state: 'down', inPool: false, up: false });
    expect(connect.mock.calls.length).toBeGreaterThan(opened);
    health.onApplicationShutdown();
  });

  it('shares one probe round between concurrent callers and reuses it briefly', async () => {
    const health = makeHealth();
    await Promise.all([health.check(), health.check()]);
    expect(primarySamples).toBe(1);
    expect(connect).toHaveBeenCalledTimes(3); // the primary and two replicas
    at(PROBE_REUSE_MS - 1);
    await health.check();
    expect(primarySamples).toBe(1);
    at(PROBE_REUSE_MS + 1);
    down.add(R1);
    const statuses = await health.check();
    expect(primarySamples).toBe(2);
    expect(connect).toHaveBeenCalledTimes(4); // the connections kept, and a new one tried for R1 when its kept one failed
    expect(statuses[0]).toMatchObject({ up: false, state: 'down', inPool: false });
  });

  it('on MySQL (no MariaDB GTID position) judges by Seconds_Behind_Source, and a stopped thread keeps the replica out', async () => {
    mysql = true;
    sqlRunning[R2] = 'No';
    const health = makeHealth();
    await health.check();
    expect(health.status.map((s) => s.state)).toEqual(['ok', 'unknown']);
    expect(picks(health, 2)).toEqual([0, 0]);
  });

  it('treats a DB_READ_HOST entry that is the primary itself as always usable, without probing it', async () => {
    const health = makeHealth({ DB_READ_HOST: `127.0.0.1:${PRIMARY}` });
    expect(health.pick()).toBe(0);
    expect(health.status[0]).toMatchObject({ state: 'ok', inPool: true, lagSeconds: 0 });
  });
});

describe('ReplicaHealth at start-up', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });
  beforeEach(() => {
    connect.mockReset();
    primaryPos = '0-1-10';
    replicaPos = { [R1]: '0-1-10', [R2]: '0-1-10' };
    sqlRunning = {};
    down = new Set();
    epoch = {};
    primarySamples = 0;
    mysql = false;
    servers();
  });

  it('has judged every replica before the process serves, so the first read and the first /up already use them', async () => {
    const health = makeHealth();
    await health.onModuleInit();
    try {
      expect(health.available).toBe(true);
      expect(health.status.map((s) => s.state)).toEqual(['ok', 'ok']);
    } finally {
      health.onApplicationShutdown();
    }
  });
});
