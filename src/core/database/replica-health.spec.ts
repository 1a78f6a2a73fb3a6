import { Logger } from '@nestjs/common';
import { createConnection } from 'mysql2/promise';
import { AppConfig } from '../../config/app-config';
import { parseEnv } from '../../config/env.schema';
import { PROBE_REUSE_MS, ReplicaHealth } from './replica-health';

jest.mock('mysql2/promise', () => ({ createConnection: jest.fn() }));
const connect = createConnection as unknown as jest.Mock;

let replicaUp = true;

function answering(): void {
  connect.mockImplementation(async () => {
    if (!replicaUp) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    return { query: async () => [[{ Seconds_Behind_Master: 0 }]], destroy: () => undefined };
  });
}

function makeHealth(): ReplicaHealth {
  return new ReplicaHealth(new AppConfig(parseEnv({ DB_WRITE_HOST: '127.0.0.1', DB_WRITE_PORT: '3306', DB_READ_HOST: '127.0.0.1:3307' })));
}

describe('ReplicaHealth.check', () => {
  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    jest.setSystemTime(1_000_000);
    connect.mockReset();
    replicaUp = true;
    answering();
  });
  afterEach(() => jest.useRealTimers());

  it('shares one probe between concurrent callers', async () => {
    const health = makeHealth();
    const [a, b] = await Promise.all([health.check(), health.check()]);
    expect(connect).toHaveBeenCalledTimes(1);
    expect(a).toEqual(b);
    expect(a[0]).toMatchObject({ host: '127.0.0.1:3307', up: true, lagSeconds: 0 });
  });

  it('answers from the last probe within the reuse window and probes again after it', async () => {
    const health = makeHealth();
    await health.check();
    jest.setSystemTime(1_000_000 + PROBE_REUSE_MS - 1);
    await health.check();
    expect(connect).toHaveBeenCalledTimes(1);
    jest.setSystemTime(1_000_000 + PROBE_REUSE_MS + 1);
    replicaUp = false;
    const statuses = await health.check();
    expect(connect).toHaveBeenCalledTimes(2);
    expect(statuses[0].up).toBe(false);
    expect(health.available).toBe(false);
  });

  it('reports a replica marked down at once, even inside the reuse window', async () => {
    const health = makeHealth();
    await health.check();
    health.markDown('read failed: connect ECONNREFUSED');
    const statuses = await health.check();
    expect(connect).toHaveBeenCalledTimes(1);
    expect(statuses[0]).toMatchObject({ up: false, error: 'read failed: connect ECONNREFUSED' });
  });
});
