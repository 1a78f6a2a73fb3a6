import { ReplyError } from 'ioredis';
import { createServer, Server, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createRedis, RedisClient } from './redis.factory';
import { isRedisUnavailable, replyCode } from './redis-errors';

const redisConfig = (url: string) => ({ url, prefix: 'spec:' }) as Parameters<typeof createRedis>[0];
const Reply = ReplyError as new (message: string) => Error;

/** A TCP server that accepts and never answers: a hung Redis. */
async function silentServer(): Promise<{ server: Server; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => void sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, sockets };
}

describe('isRedisUnavailable', () => {
  const clients: RedisClient[] = [];
  afterAll(() => clients.forEach((c) => c.disconnect()));

  it('recognises a command refused because Redis cannot be reached (a real fail-fast client, nothing listening)', async () => {
    const { server, port } = await silentServer();
    await new Promise((r) => server.close(r)); // the port is free again: connections are refused
    const client = createRedis(redisConfig(`redis://127.0.0.1:${port}`), { name: 'spec' });
    client.on('error', () => undefined);
    clients.push(client);
    const err = await client.get('k').then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(isRedisUnavailable(err)).toBe(true);
  });

  it('recognises a command that timed out on a Redis that does not answer', async () => {
    const { server, port, sockets } = await silentServer();
    const client = createRedis(redisConfig(`redis://127.0.0.1:${port}`), { name: 'spec', extra: { commandTimeout: 200, enableReadyCheck: false } });
    client.on('error', () => undefined);
    clients.push(client);
    const err = await client.get('k').then(() => null, (e: unknown) => e);
    expect(isRedisUnavailable(err)).toBe(true);
    client.disconnect();
    sockets.forEach((s) => s.destroy());
    await new Promise((r) => server.close(r));
  });

  it('goes by where the error came from, not by its words', () => {
    expect(isRedisUnavailable(new Error("Stream isn't writeable and enableOfflineQueue options is false"))).toBe(false);
    expect(isRedisUnavailable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }))).toBe(false);
    expect(isRedisUnavailable(undefined)).toBe(false);
  });

  it('reads Redis reply codes: LOADING or READONLY are unavailable, a wrong command is not', () => {
    expect(isRedisUnavailable(new Reply('LOADING Redis is loading the dataset in memory'))).toBe(true);
    expect(isRedisUnavailable(new Reply("READONLY You can't write against a read only replica."))).toBe(true);
    expect(isRedisUnavailable(new Reply('ERR wrong number of arguments for command'))).toBe(false);
    expect(replyCode(new Reply('CLUSTERDOWN The cluster is down'))).toBe('CLUSTERDOWN');
    expect(replyCode(new Error('READONLY not a reply'))).toBeUndefined();
  });
});
