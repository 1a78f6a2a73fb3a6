import type { AppConfig } from '../../config/app-config';
import { realtimeSlotsReconciledTotal } from '../metrics/metrics';
import type { RedisClient } from '../redis/redis.factory';
import type { AdminAlerts } from './admin-alerts';
import { ClusterState } from './cluster-state';
import type { LocalConnectionStats } from './local-connection-stats';
import type { SlotHolderKind } from './slot-ledger';

// The slot connection ClusterState opens for itself: the slot script always grants.
jest.mock('../redis/redis.factory', () => ({
  createRedis: () => ({ on: () => undefined, defineCommand: () => undefined, rtAcquire: async () => ['ok', 1], quit: async () => 'OK' }),
  redisReady: async () => undefined,
}));

/** The shared connection: records the per-address increments ClusterState sends, and presence writes. */
function fakeRedis(increments: [string, number][], presence: unknown[][] = []): RedisClient {
  const chain = {
    hincrby: (_key: string, field: string, by: number) => (increments.push([field, by]), chain),
    del: () => chain,
    hexists: () => chain,
    hdel: () => chain,
    hset: () => chain,
    pexpire: () => chain,
    zadd: () => chain,
    zrem: () => chain,
    exec: async () => [],
  };
  return {
    on: () => undefined,
    multi: () => chain,
    pipeline: () => ({ hget: () => undefined, exec: async () => [] }),
    zrangebyscore: async () => [],
    hset: async (_key: string, fields: Record<string, string>) => (presence.push(['hset', fields]), 1),
    hdel: async (_key: string, field: string) => (presence.push(['hdel', field]), 1),
  } as unknown as RedisClient;
}

const config = {
  instanceId: 'unit',
  redis: { prefix: 'unit:' },
  realtime: { maxConnections: 100, maxConnectionsPerIp: 10 },
} as unknown as AppConfig;

interface FakeStream {
  open: boolean;
}

async function reconciledSse(): Promise<number> {
  return (await realtimeSlotsReconciledTotal.get()).values.find((v) => v.labels.transport === 'sse')?.value ?? 0;
}

const noLocalConnections = { version: () => 0, snapshot: () => ({ namespaces: {}, sse: { clients: 0, authenticated: 0 }, rooms: {} }) } as unknown as LocalConnectionStats;
const noAlerts = { capacity: () => undefined } as unknown as AdminAlerts;

describe('ClusterState slot reconciliation', () => {
  let cluster: ClusterState;
  const increments: [string, number][] = [];

  beforeEach(async () => {
    increments.length = 0;
    cluster = new ClusterState(fakeRedis(increments), config, noLocalConnections, noAlerts);
    await cluster.onModuleInit();
  });

  afterEach(async () => {
    await cluster.onApplicationShutdown();
  });

  it('frees the slots of connections that closed unseen, has their owner drop them, and counts them', async () => {
    const forgotten: FakeStream[] = [];
    const kind: SlotHolderKind<FakeStream> = { transport: 'sse', isOpen: (s) => s.open, forget: (s) => forgotten.push(s) };
    const [open, closed] = [{ open: true }, { open: true }];
    await cluster.acquire('198.51.100.1', kind, open);
    await cluster.acquire('198.51.100.1', kind, closed);
    const before = await reconciledSse();
    closed.open = false;

    expect(cluster.reconcile()).toBe(1);
    expect(forgotten).toEqual([closed]);
    expect(await reconciledSse()).toBe(before + 1);
    expect(increments).toEqual([
      ['total', -1],
      ['ip:198.51.100.1', -1],
    ]);
    // The owner's own close handling, arriving late, frees nothing twice.
    cluster.release(closed);
    expect(increments).toHaveLength(2);
    expect(cluster.reconcile()).toBe(0);
    cluster.release(open);
    expect(increments).toHaveLength(4);
  });
});

describe('ClusterState presence', () => {
  const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

  it("writes the users who came online in one turn with one HSET, and never after a user's HDEL", async () => {
    const presence: unknown[][] = [];
    const cluster = new ClusterState(fakeRedis([], presence), config, noLocalConnections, noAlerts);
    cluster.userOnline(1);
    cluster.userOnline(2);
    cluster.userOnline(2); // a second socket of the same user: nothing more to write
    cluster.userOnline(3);
    cluster.userOffline(3); // gone before the write: only its HDEL goes out
    expect(presence).toEqual([['hdel', 'u:3']]);
    await nextTurn();
    expect(presence).toEqual([
      ['hdel', 'u:3'],
      ['hset', { 'u:1': '1', 'u:2': '1' }],
    ]);
    cluster.userOffline(2);
    expect(presence).toHaveLength(2); // user 2 still has a socket
    cluster.userOffline(2);
    await nextTurn();
    expect(presence.slice(2)).toEqual([['hdel', 'u:2']]);
  });
});

describe('ClusterState heartbeat', () => {
  /** Every MULTI the heartbeat sends, as the commands in it; `failPresence` makes userOnline's HSET fail. */
  function recordingRedis(multis: string[][], opts: { failPresence?: boolean; statsKept?: number } = {}): RedisClient {
    return {
      on: () => undefined,
      multi: () => {
        const cmds: string[] = [];
        multis.push(cmds);
        const chain: Record<string, unknown> = {};
        for (const name of ['del', 'hexists', 'hdel', 'pexpire', 'zadd', 'zrem', 'hincrby']) chain[name] = () => (cmds.push(name), chain);
        chain.hset = (_key: string, fields: Record<string, string>) => (cmds.push(`hset ${Object.keys(fields).sort().join(',')}`), chain);
        chain.exec = async () => cmds.map((c) => [null, c === 'hexists' ? (opts.statsKept ?? 1) : 'OK']);
        return chain;
      },
      pipeline: () => ({ hget: () => undefined, exec: async () => [] }),
      zrangebyscore: async () => [],
      hset: async () => {
        if (opts.failPresence) throw new Error('Redis went away');
        return 1;
      },
      hdel: async () => 1,
    } as unknown as RedisClient;
  }

  let version = 0;
  const local = { version: () => version, snapshot: () => ({ namespaces: {}, sse: { clients: 0, authenticated: 0 }, rooms: {} }) } as unknown as LocalConnectionStats;
  const beat = (cluster: ClusterState) => (cluster as unknown as { beat(): Promise<void> }).beat();
  const nextTurn = () => new Promise((r) => setImmediate(r));

  /** A ClusterState past its first heartbeat (a whole rewrite), recording every MULTI into `multis`. */
  async function started(multis: string[][], opts?: Parameters<typeof recordingRedis>[1]): Promise<ClusterState> {
    const cluster = new ClusterState(recordingRedis(multis, opts), config, local, noAlerts);
    await cluster.onModuleInit();
    await nextTurn();
    return cluster;
  }

  it('rewrites presence and stats only when they may differ from memory, the counts every beat', async () => {
    const multis: string[][] = [];
    const cluster = await started(multis); // its first heartbeat rewrites the hash whole
    cluster.userOnline(7); // written as it happens (HSET u:7), not by the heartbeats
    await beat(cluster);
    version++;
    await beat(cluster);
    await cluster.onApplicationShutdown();
    expect(multis.slice(0, 3)).toEqual([
      ['del', 'hset stats,total', 'pexpire', 'zadd'],
      ['hexists', 'hset total', 'pexpire', 'zadd'],
      ['hexists', 'hset stats,total', 'pexpire', 'zadd'],
    ]);
  });

  it('rewrites the hash whole after a presence write failed, and when it finds the hash lost', async () => {
    const multis: string[][] = [];
    const cluster = await started(multis, { failPresence: true });
    await beat(cluster);
    cluster.userOnline(8);
    await nextTurn();
    await beat(cluster);
    expect(multis.slice(1, 3)).toEqual([
      ['hexists', 'hset total', 'pexpire', 'zadd'],
      ['del', 'hset stats,total,u:8', 'pexpire', 'zadd'],
    ]);
    await cluster.onApplicationShutdown();

    const lost: string[][] = [];
    const other = await started(lost, { statsKept: 0 });
    await beat(other);
    // Found without its stats (expired, or a restarted Redis): written whole in the same heartbeat.
    expect(lost.slice(1, 3)).toEqual([
      ['hexists', 'hset total', 'pexpire', 'zadd'],
      ['del', 'hset stats,total', 'pexpire', 'zadd'],
    ]);
    await other.onApplicationShutdown();
  });
});
