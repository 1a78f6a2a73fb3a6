import type { AppConfig } from '../../config/app-config';
import { realtimeSlotsReconciledTotal } from '../metrics/metrics';
import type { RedisClient } from '../redis/redis.factory';
import type { AdminAlerts } from './admin-alerts';
import { ClusterState, FULL_REWRITE_BEATS } from './cluster-state';
import type { LocalConnectionStats } from './local-connection-stats';
import { changesSender, HashOps } from './process-hash-changes.spec-helper';
import type { SlotHolderKind } from './slot-ledger';

// The slot connection ClusterState opens for itself: the slot script always grants.
jest.mock('../redis/redis.factory', () => ({
  createRedis: () => ({ on: () => undefined, defineCommand: () => undefined, rtAcquire: async () => ['ok', 1], quit: async () => 'OK' }),
  redisReady: async () => undefined,
}));

/** The shared connection: records the counter changes ClusterState sends, and presence writes. */
function fakeRedis(increments: [string, number][], presence: unknown[][] = []): RedisClient {
  const chain = {
    del: () => chain,
    hexists: () => chain,
    hset: () => chain,
    pexpire: () => chain,
    zadd: () => chain,
    zrem: () => chain,
    exec: async () => [],
  };
  const sent = (w: HashOps) => {
    increments.push(...w.incr);
    if (w.del.length) presence.push(['hdel', ...w.del]);
    if (w.set.length) presence.push(['hset', ...w.set]);
  };
  return {
    on: () => undefined,
    multi: () => chain,
    pipeline: () => ({ hget: () => undefined, exec: async () => [] }),
    sendCommand: changesSender([], { sent }),
    zrangebyscore: async () => [],
  } as unknown as RedisClient;
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

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
    await nextTurn();
    expect(increments).toEqual([
      ['total', -1],
      ['ip:198.51.100.1', -1],
    ]);
    // The owner's own close handling, arriving late, frees nothing twice.
    cluster.release(closed);
    await nextTurn();
    expect(increments).toHaveLength(2);
    expect(cluster.reconcile()).toBe(0);
    cluster.release(open);
    await nextTurn();
    expect(increments).toHaveLength(4);
  });
});

describe('ClusterState presence', () => {
  it('writes the users who came and went in one turn with one write, each as it was last', async () => {
    const presence: unknown[][] = [];
    const cluster = new ClusterState(fakeRedis([], presence), config, noLocalConnections, noAlerts);
    cluster.userOnline(1);
    cluster.userOnline(2);
    cluster.userOnline(2); // a second socket of the same user: nothing more to write
    cluster.userOnline(3);
    cluster.userOffline(3); // gone before the write: only its HDEL goes out
    expect(presence).toEqual([]);
    await nextTurn();
    expect(presence).toEqual([
      ['hdel', 'u:3'],
      ['hset', 'u:1', 'u:2'],
    ]);
    cluster.userOffline(2);
    await nextTurn();
    expect(presence).toHaveLength(2); // user 2 still has a socket
    cluster.userOffline(1);
    cluster.userOffline(2);
    cluster.userOnline(1); // a reconnect in the same turn as its close: still online
    await nextTurn();
    expect(presence.slice(2)).toEqual([
      ['hdel', 'u:2'],
      ['hset', 'u:1'],
    ]);
  });
});

describe('ClusterState heartbeat', () => {
  /**
   * Every MULTI the heartbeat sends, as the commands in it, and every write of the hash changes
   * (`changes` and what it does), in the order they were sent; `failPresence` makes those writes fail.
   */
  function recordingRedis(multis: string[][], opts: { failPresence?: boolean; statsKept?: number } = {}): RedisClient {
    return {
      on: () => undefined,
      multi: () => {
        const cmds: string[] = [];
        multis.push(cmds);
        const chain: Record<string, unknown> = {};
        for (const name of ['del', 'hexists', 'pexpire', 'zadd', 'zrem']) chain[name] = () => (cmds.push(name), chain);
        chain.hdel = (_key: string, ...fields: string[]) => (cmds.push(`hdel ${fields.sort().join(',')}`), chain);
        chain.hset = (_key: string, fields: Record<string, string>) => (cmds.push(`hset ${Object.keys(fields).sort().join(',')}`), chain);
        chain.exec = async () => cmds.map((c) => [null, c === 'hexists' ? (opts.statsKept ?? 1) : 'OK']);
        return chain;
      },
      pipeline: () => ({ hget: () => undefined, exec: async () => [] }),
      sendCommand: changesSender([], {
        fail: () => !!opts.failPresence,
        sent: (w) => multis.push(['changes', ...w.incr.map(([f, by]) => `incr ${f} ${by}`), ...w.set.map((f) => `set ${f}`), ...w.del.map((f) => `del ${f}`)]),
      }),
      zrangebyscore: async () => [],
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
    cluster.userOnline(7); // written as it happens (at the end of the turn), not by the heartbeats
    await nextTurn();
    await beat(cluster);
    version++;
    await beat(cluster);
    await cluster.onApplicationShutdown();
    expect(multis.slice(0, 4)).toEqual([
      ['del', 'hset stats,total', 'pexpire', 'zadd'],
      ['changes', 'set u:7'],
      ['hexists', 'hset total', 'pexpire', 'zadd'],
      ['hexists', 'hset stats,total', 'pexpire', 'zadd'],
    ]);
  });

  it("sends the turn's slots given back and presence before a heartbeat's counts, and nothing once shut down", async () => {
    const multis: string[][] = [];
    const cluster = await started(multis);
    const kind: SlotHolderKind<FakeStream> = { transport: 'sse', isOpen: (s) => s.open, forget: () => undefined };
    const [stream, unseen] = [{ open: true }, { open: true }];
    await cluster.acquire('198.51.100.2', kind, stream);
    await cluster.acquire('198.51.100.2', kind, unseen);
    cluster.userOnline(9);
    cluster.release(stream);
    cluster.userOffline(9);
    unseen.open = false; // freed by the heartbeat's reconciliation, in the heartbeat's own turn
    await beat(cluster);
    expect(multis.slice(1)).toEqual([
      ['changes', 'incr total -2', 'incr ip:198.51.100.2 -2', 'del u:9'],
      ['hexists', 'hdel ip:198.51.100.2', 'hset total', 'pexpire', 'zadd'],
    ]);
    cluster.userOnline(10);
    await cluster.onApplicationShutdown();
    cluster.userOffline(10); // a socket closed during shutdown: the hash is gone, nothing recreates it
    await nextTurn();
    expect(multis.slice(3)).toEqual([['zrem', 'del']]);
  });

  it('rewrites the hash whole after a presence write failed, and when it finds the hash lost', async () => {
    const multis: string[][] = [];
    const cluster = await started(multis, { failPresence: true });
    await beat(cluster);
    cluster.userOnline(8);
    await nextTurn();
    await nextTurn();
    await beat(cluster);
    expect(multis.slice(1, 4)).toEqual([
      ['hexists', 'hset total', 'pexpire', 'zadd'],
      ['changes', 'set u:8'],
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

  it("writes an address's count when it changed since the last beat or is being taken, and every address in a whole rewrite", async () => {
    const multis: string[][] = [];
    const cluster = await started(multis);
    const kind: SlotHolderKind<FakeStream> = { transport: 'sse', isOpen: (s) => s.open, forget: () => undefined };
    const [a, b, c] = [{ open: true }, { open: true }, { open: true }];
    await cluster.acquire('198.51.100.1', kind, a);
    await cluster.acquire('198.51.100.2', kind, b);
    await beat(cluster);
    await beat(cluster); // nothing changed
    const taking = cluster.acquire('198.51.100.3', kind, c); // its script not answered yet when the beat writes
    await beat(cluster);
    await taking;
    cluster.release(b);
    await beat(cluster);
    for (let i = 0; i < FULL_REWRITE_BEATS - 4; i++) await beat(cluster); // the FULL_REWRITE_BEATS-th beat since the first is a whole rewrite
    const beats = multis.filter((m) => m[0] !== 'changes');
    expect(beats.slice(1, 5)).toEqual([
      ['hexists', 'hset ip:198.51.100.1,ip:198.51.100.2,total', 'pexpire', 'zadd'],
      ['hexists', 'hset total', 'pexpire', 'zadd'],
      ['hexists', 'hset ip:198.51.100.3,total', 'pexpire', 'zadd'],
      ['hexists', 'hdel ip:198.51.100.2', 'hset ip:198.51.100.3,total', 'pexpire', 'zadd'],
    ]);
    expect(beats[FULL_REWRITE_BEATS - 1]).toEqual(['hexists', 'hset total', 'pexpire', 'zadd']);
    expect(beats[FULL_REWRITE_BEATS]).toEqual(['del', 'hset ip:198.51.100.1,ip:198.51.100.3,stats,total', 'pexpire', 'zadd']);
    await cluster.onApplicationShutdown();
  });

  it('builds the stats again only when what they count may have changed, also for a whole rewrite', async () => {
    const multis: string[][] = [];
    let snapshots = 0;
    const counting = { version: () => version, snapshot: () => (snapshots++, local.snapshot()) } as unknown as LocalConnectionStats;
    const cluster = new ClusterState(recordingRedis(multis), config, counting, noAlerts);
    await cluster.onModuleInit();
    await nextTurn();
    for (let i = 0; i < FULL_REWRITE_BEATS; i++) await beat(cluster); // the last is a whole rewrite
    expect(multis[FULL_REWRITE_BEATS]).toEqual(['del', 'hset stats,total', 'pexpire', 'zadd']);
    expect(snapshots).toBe(1);
    version++;
    await beat(cluster);
    expect(multis[FULL_REWRITE_BEATS + 1]).toEqual(['hexists', 'hset stats,total', 'pexpire', 'zadd']);
    expect(snapshots).toBe(2);
    await cluster.onApplicationShutdown();
  });
});
