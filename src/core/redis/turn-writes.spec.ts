import type { RedisClient } from './redis.factory';
import { writeOncePerTurn } from './turn-writes';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

function fakeClient(status = 'ready') {
  const log: string[] = [];
  let corks = 0;
  const stream = {
    cork: () => {
      corks++;
      log.push('cork');
    },
    uncork: () => {
      corks--;
      log.push('uncork');
    },
  };
  const client = {
    status,
    stream,
    sendCommand(name: string) {
      log.push(corks > 0 ? `${name} (corked)` : name);
      return name;
    },
  };
  return { client, log, send: (name: string) => (client as unknown as { sendCommand(n: string): unknown }).sendCommand(name) };
}

describe('writeOncePerTurn', () => {
  it('corks the socket at the first command of a turn and uncorks it once, at setImmediate', async () => {
    const { client, log, send } = fakeClient();
    writeOncePerTurn(client as unknown as RedisClient);
    expect(send('a')).toBe('a');
    send('b');
    await Promise.resolve();
    send('c');
    expect(log).toEqual(['cork', 'a (corked)', 'b (corked)', 'c (corked)']);
    await nextTurn();
    expect(log.slice(4)).toEqual(['uncork']);
    send('d');
    await nextTurn();
    expect(log.slice(5)).toEqual(['cork', 'd (corked)', 'uncork']);
  });

  it('leaves a connection that is not ready alone (ioredis queues those commands itself)', async () => {
    const { client, log, send } = fakeClient('connecting');
    writeOncePerTurn(client as unknown as RedisClient);
    send('a');
    await nextTurn();
    expect(log).toEqual(['a']);
  });

  it('leaves a Cluster client alone', () => {
    const cluster = { ...fakeClient().client, isCluster: true };
    const original = cluster.sendCommand;
    writeOncePerTurn(cluster as unknown as RedisClient);
    expect(cluster.sendCommand).toBe(original);
  });
});
