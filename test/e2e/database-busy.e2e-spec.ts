import { createServer, Server, Socket, connect } from 'node:net';
import { ApiProcess, startApi } from '../support/api-process';
import { registerTokenUser, waitFor } from '../support/http-client';
import { stackEnv } from '../support/stack';

jest.setTimeout(120_000);

/** A TCP proxy to the primary that can stop passing bytes: every connection through it stalls, as a saturated database does. */
class StallingProxy {
  private readonly server: Server;
  private readonly pairs = new Set<[Socket, Socket]>();
  private stalled = false;

  constructor(target: { host: string; port: number }) {
    this.server = createServer((client) => {
      const upstream = connect(target.port, target.host);
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      client.pipe(upstream);
      upstream.pipe(client);
      if (this.stalled) for (const s of pair) s.pause();
      const end = (): void => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
  }

  listen(): Promise<number> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve((this.server.address() as { port: number }).port)));
  }

  stall(on: boolean): void {
    this.stalled = on;
    for (const pair of this.pairs) {
      for (const s of pair) {
        if (on) s.pause();
        else s.resume();
      }
    }
  }

  close(): Promise<void> {
    for (const pair of this.pairs) for (const s of pair) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Past CONNECTION_WAIT_LIMIT requests waiting for a database connection a process sheds load with
 * 503 Database busy (Retry-After). mysql2's own queue limit used to take the primary offline in its
 * PoolCluster: after the first refusal every request failed `Database unavailable` until a connection
 * came free, as if the database were down, and a replica refused that way was taken out of the read pool.
 */
describe('database connection waits over the limit', () => {
  let api: ApiProcess;
  let proxy: StallingProxy;

  afterAll(async () => {
    await api?.stop();
    await proxy?.close();
  });

  it('are refused 503 Database busy, every one of them, and the rest are served once the primary answers', async () => {
    const primary = stackEnv().DB_WRITE_HOST;
    const [host, port] = primary.includes(':') ? primary.split(':') : [primary, stackEnv().DB_WRITE_PORT ?? '3306'];
    proxy = new StallingProxy({ host, port: Number(port) });
    const proxyPort = await proxy.listen();
    // One connection to the primary, through the proxy; a user's reads stay on the primary inside a long read-your-writes window.
    api = await startApi({
      DB_WRITE_HOST: `127.0.0.1:${proxyPort}`,
      DB_POOL_SIZE: '1',
      DB_STICKY_WINDOW_MS: '600000',
    });
    const user = await registerTokenUser(api.url, 'db-busy');
    expect((await user.client.post('/api/projects', { name: 'before the stall' })).status).toBe(201);

    proxy.stall(true);
    const burst = Array.from({ length: 1150 }, () =>
      fetch(`${api.url}/api/projects`, {
        headers: { authorization: `Bearer ${user.client.token as string}` },
      }).then(
        async (r) => ({
          status: r.status,
          body: (await r.json()) as { message?: string },
        }),
        (err: unknown) => ({ status: 0, body: { message: String(err) } }),
      ),
    );
    const answered: { status: number; body: { message?: string } }[] = [];
    for (const b of burst) void b.then((r) => answered.push(r));
    // The ones over the limit are answered at once, while the primary answers nothing.
    await waitFor(async () => answered.length >= 100, 30000);
    expect(answered.every((r) => r.status === 503 && r.body.message === 'Database busy')).toBe(true);

    proxy.stall(false);
    const results = await Promise.all(burst);
    // The primary served on: the requests that waited, and a write right after.
    expect((await user.client.post('/api/projects', { name: 'after the burst' })).status).toBe(201);
    const statuses = new Map<string, number>();
    for (const r of results) statuses.set(`${r.status} ${r.body.message ?? ''}`, (statuses.get(`${r.status} ${r.body.message ?? ''}`) ?? 0) + 1);
    // Only two outcomes: served once the primary answered, or shed for load; never "unavailable".
    expect([...statuses.keys()].sort()).toEqual(['200 ', '503 Database busy']);
    expect(statuses.get('200 ')).toBeGreaterThanOrEqual(900);
  });
});
