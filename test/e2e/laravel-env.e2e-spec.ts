import { startApi } from '../support/api-process';
import { freeLowPort } from '../support/low-port';
import { stackEnv } from '../support/stack';
import { exitOf, QueueKit } from './queue-test-kit';

jest.setTimeout(120000);

/**
 * An operator's Laravel .env, pasted as it is: hosts without ports on DB_PORT, REDIS_HOST/REDIS_PORT
 * and REDIS_PASSWORD=null instead of REDIS_URL. Empty values unset what `npm test` passes down.
 */
function laravelEnv(): Record<string, string> {
  const s = stackEnv();
  const redis = new URL(s.REDIS_URL);
  const primaryPort = s.DB_WRITE_PORT;
  return {
    REDIS_URL: '',
    REDIS_HOST: redis.hostname,
    REDIS_PORT: redis.port,
    REDIS_PASSWORD: 'null',
    DB_WRITE_HOST: s.DB_WRITE_HOST,
    DB_WRITE_PORT: '',
    DB_PORT: primaryPort,
    // No port: DB_PORT (the primary here, since the replica of this stack has a port of its own).
    DB_READ_HOST: s.DB_WRITE_HOST,
  };
}

describe("Laravel's .env names and queue names work as they are", () => {
  const kit = new QueueKit();
  afterAll(() => kit.close());

  it('the api starts and is healthy on DB_PORT, REDIS_HOST/REDIS_PORT and REDIS_PASSWORD=null', async () => {
    const api = await startApi({ ...kit.env, ...laravelEnv() }, { port: await freeLowPort() });
    try {
      const res = await fetch(`${api.url}/up`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'ok', info: { database_write: { status: 'up' }, database_read: { status: 'up' }, redis: { status: 'up' } } });
    } finally {
      await api.stop();
    }
  });

  it('queue:work --queue=default,emails works any queue name, created on first use, and queue:monitor reads redis:<queue>', async () => {
    const env = laravelEnv();
    const [job] = await kit.probe(['--queue=emails']);
    const worker = kit.work(['--queue=default,emails', '--stop-when-empty', '-q'], env);
    expect((await exitOf(worker)).code).toBe(0);
    expect(await (await kit.job('emails', job.id))?.getState()).toBe('completed');
    const r = await kit.cli(['queue:monitor', 'redis:default,redis:emails', '--json'], env);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as Array<{ queue: string }>).map((s) => s.queue)).toEqual(['default', 'emails']);
    await kit.queue('emails').obliterate({ force: true });
  });

  it('a connection other than redis, or a malformed queue name, is a usage error naming it', async () => {
    let r = await kit.cli(['queue:monitor', 'sqs:default']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Unknown queue connection "sqs"');
    r = await kit.cli(['queue:work', '--queue=default,bad name']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"bad name" is not a queue name');
  });
});
