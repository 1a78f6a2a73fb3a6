import { createRedis, RedisClient } from '../../src/core/redis/redis.factory';
import { stackEnv } from './stack';

const hosts = (list: string | undefined, defaultPort: number) =>
  list
    ?.split(',')
    .filter(Boolean)
    .map((h) => {
      const [host, port] = h.trim().split(':');
      return { host, port: Number(port || defaultPort) };
    });

/** The test stack's Redis as the app sees it — one Redis, Sentinel or Cluster — so a test reads what the app wrote. */
export function redisConfig() {
  const env = stackEnv();
  return {
    url: env.REDIS_URL,
    sentinels: hosts(env.REDIS_SENTINELS, 26379),
    sentinelName: env.REDIS_SENTINEL_NAME ?? 'mymaster',
    clusterNodes: hosts(env.REDIS_CLUSTER_NODES, 6379),
    prefix: 'sb:',
  };
}

/** A patient test connection (offline queue on), closed by the caller. */
export function testRedis(name = 'test'): RedisClient {
  return createRedis(redisConfig(), { name, failFast: false, extra: { maxRetriesPerRequest: 3 } });
}

/** Which topology the run uses (STACK_REDIS): tests that stop "the" Redis only make sense on one. */
export const redisTopology = (): string => stackEnv().STACK_REDIS ?? 'single';

/**
 * MONITOR on one Redis node over a bare socket. ioredis's own `monitor()` switches to monitor mode one
 * microtask after MONITOR's +OK, so a command line arriving in the same packet as the +OK is taken for a
 * reply to nothing ("Command queue state error") — what a busy Cluster master did in CI.
 * Resolves once Redis answered +OK (to MONITOR: its lines follow); `lines` collects every monitored command line from then on.
 */
export async function monitorNode(host: string, port: number): Promise<{ lines: string[]; close(): void }> {
  const { connect } = await import('node:net');
  const socket = connect({ host, port });
  const lines: string[] = [];
  let buffered = '';
  let ok: () => void = () => undefined;
  let fail: (err: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => ((ok = resolve), (fail = reject)));
  const command = (...args: string[]) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
  socket.on('error', (err) => fail(err));
  socket.on('data', (chunk) => {
    buffered += chunk.toString('utf8');
    let end: number;
    while ((end = buffered.indexOf('\r\n')) >= 0) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      if (line === '+OK') ok();
      else if (line.startsWith('-')) fail(new Error(`MONITOR on ${host}:${port}: ${line.slice(1)}`));
      else if (line.startsWith('+')) lines.push(line.slice(1));
    }
  });
  socket.write(command('MONITOR')); // the test stacks' Redis has no password
  await ready;
  return { lines, close: () => socket.destroy() };
}
