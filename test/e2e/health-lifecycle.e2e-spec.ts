import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, startApi } from '../support/api-process';
import { waitFor } from '../support/http-client';
import { stackEnv } from '../support/stack';

describe('health probes, start-up validation and draining', () => {
  it('answers /up with every dependency and /livez without any', async () => {
    const api = await startApi();
    try {
      const up = await fetch(`${api.url}/up`);
      expect(up.status).toBe(200);
      expect(up.headers.get('cache-control')).toBe('no-store');
      const body = (await up.json()) as { status: string; info: Record<string, { status: string }> };
      expect(body.status).toBe('ok');
      expect(Object.keys(body.info).sort()).toEqual(['database_read', 'database_write', 'redis']);
      expect(Object.values(body.info).every((i) => i.status === 'up')).toBe(true);
      const live = await fetch(`${api.url}/livez`);
      expect(live.status).toBe(200);
      const request = await fetch(`${api.url}/livez`, { headers: { 'x-request-id': 'probe-123' } });
      expect(request.headers.get('x-request-id')).toBe('probe-123');
    } finally {
      await api.stop();
    }
  });

  it('turns /up to 503 shutting_down on SIGTERM while draining, then exits 0', async () => {
    const api = await startApi({ SHUTDOWN_DRAIN_MS: '3000' });
    api.child.kill('SIGTERM');
    const draining = await waitFor(async () => {
      const r = await fetch(`${api.url}/up`);
      return r.status === 503 ? ((await r.json()) as { status: string; error: object }) : undefined;
    }, 3000, 50);
    expect(draining.status).toBe('shutting_down');
    expect(draining.error).toHaveProperty('shutting_down');
    const { code } = await api.exited;
    expect(code).toBe(0);
  });

  it.each([
    ['PORT', 'abc', 'PORT must be a whole number'],
    ['DB_STICKY', 'maybe', 'DB_STICKY must be true or false'],
    ['REDIS_URL', 'not a url', 'REDIS_URL must be a redis:// or rediss:// URL'],
  ])('stops at start with one line naming %s when it is malformed', async (key, value, message) => {
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'main.js')], {
      env: { ...process.env, ...stackEnv(), [key]: value },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain(message);
  });

  it('requires the secrets in production', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'main.js')], {
      env: { ...process.env, ...stackEnv(), NODE_ENV: 'production', SESSION_SECRET: '', JWT_SECRET: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    expect(await new Promise<number | null>((r) => child.once('exit', r))).toBe(1);
    expect(stderr).toContain('SESSION_SECRET is required in production');
  });
});
