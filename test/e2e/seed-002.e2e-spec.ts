import { randomUUID } from 'node:crypto';
import { ApiProcess, startApi } from '../support/api-process';
import { registerTokenUser, TestUser, waitFor } from '../support/http-client';
import { stackEnv } from '../support/stack';
import { openSocket } from './realtime-helpers';

jest.setTimeout(120_000);

/** Every sample of `name` in Prometheus text: its labels and value. */
function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labels: Record<string, string> = {};
    for (const m of line.matchAll(/(\w+)="([^"]*)"/g)) labels[m[1]] = m[2];
    out.push({ labels, value: Number(line.split(' ').pop()) });
  }
  return out;
}

/**
 * Seed 002 (chat + notifications over Socket.IO namespaces), example by
 * example: /api/health in its shape, /api/metrics, the metrics it names with
 * bounded labels, its Redis and CORS variable names. docs/seeds.md points here.
 */
describe('seed 002: the scaling examples work as written', () => {
  let api: ApiProcess;
  let user: TestUser;

  beforeAll(async () => {
    api = await startApi({ REDIS_PREFIX: `seed2${randomUUID().slice(0, 8)}:` });
    user = await registerTokenUser(api.url, 'seed2');
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('answers GET /api/health with {status:"healthy", timestamp, services:{database, redis}}', async () => {
    const res = await fetch(`${api.url}/api/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, any>;
    expect(body).toMatchObject({ status: 'healthy', services: { database: 'up', redis: 'up' } });
    expect(new Date(body.timestamp as string).toISOString()).toBe(body.timestamp);
  });

  it('connects to Redis by the seed’s REDIS_HOST / REDIS_PORT / REDIS_PASSWORD=null when REDIS_URL is not set', async () => {
    const url = new URL(stackEnv().REDIS_URL);
    const other = await startApi({ REDIS_URL: '', REDIS_HOST: url.hostname, REDIS_PORT: url.port, REDIS_PASSWORD: 'null', REDIS_PREFIX: `seed2r${randomUUID().slice(0, 8)}:` });
    try {
      const res = await fetch(`${other.url}/api/health`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { services: { redis: string } }).services.redis).toBe('up');
    } finally {
      await other.stop();
    }
  });

  it('serves /api/metrics as /metrics, with the seed’s metric names on bounded labels', async () => {
    const chat = openSocket(api.url, '/chat', { token: user.client.token });
    await chat.next('connected');
    const notifications = openSocket(api.url, '/notifications', { token: user.client.token });
    await notifications.next('connected');
    chat.socket.close();
    const res = await waitFor(async () => {
      const r = await fetch(`${api.url}/api/metrics`);
      const text = await r.text();
      return samples(text, 'socket_connection_duration_seconds_count').some((s) => s.labels.namespace === '/chat') && { r, text };
    });
    expect(res.r.status).toBe(200);
    expect(res.r.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = res.text;
    expect(samples(text, 'socket_active_connections').find((s) => s.labels.namespace === '/notifications')?.value).toBe(1);
    expect(samples(text, 'socket_messages_sent_total').length).toBeGreaterThan(0);
    expect(samples(text, 'db_query_duration_seconds_count').length).toBeGreaterThan(0);
    expect(samples(text, 'db_connection_pool_size').find((s) => s.labels.role === 'primary' && s.labels.state === 'limit')?.value).toBe(10);
    // No per-user or per-room series: the seed's user_id/room labels would grow without bound.
    for (const name of ['socket_connection_duration_seconds_bucket', 'socket_messages_sent_total', 'socket_active_connections', 'db_connection_pool_size']) {
      for (const s of samples(text, name)) expect(Object.keys(s.labels).filter((l) => !['namespace', 'le', 'role', 'state'].includes(l))).toEqual([]);
    }
    const plain = await (await fetch(`${api.url}/metrics`)).text();
    expect(plain).toMatch(/^# HELP socket_connection_duration_seconds /m);
    notifications.socket.close();
  });

  it('reads the seed’s ALLOWED_ORIGINS for CORS when CORS_ORIGIN is not set', async () => {
    const other = await startApi({ CORS_ORIGIN: '', ALLOWED_ORIGINS: 'https://app.example.test', REDIS_PREFIX: `seed2o${randomUUID().slice(0, 8)}:` });
    try {
      const res = await fetch(`${other.url}/api/health`, { headers: { origin: 'https://app.example.test' } });
      expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.test');
    } finally {
      await other.stop();
    }
  });
});
