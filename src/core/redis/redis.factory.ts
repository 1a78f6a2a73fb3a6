import Redis, { Cluster, RedisOptions } from 'ioredis';
import { AppConfig } from '../../config/app-config';
import { ClassifiedCluster, ClassifiedRedis, replyCode } from './redis-errors';

export type RedisClient = Redis | Cluster;

export interface RedisConnectionOptions {
  /** Shown in CLIENT LIST, to tell connections apart. */
  name: string;
  /**
   * Fail fast (the default for request paths): with Redis away a command
   * rejects at once instead of waiting in an unbounded offline queue.
   * Blocking consumers (BullMQ workers) pass false.
   */
  failFast?: boolean;
  extra?: RedisOptions;
  /** A subscriber to SPUBLISHed channels: on a Cluster, one connection per master (ioredis' sharded subscribers). */
  shardedSubscribers?: boolean;
}

/** The single place Redis connections are made: plain URL, Sentinel or Cluster. */
export function createRedis(config: AppConfig['redis'], opts: RedisConnectionOptions): RedisClient {
  const failFast = opts.failFast ?? true;
  const common: RedisOptions = {
    connectionName: `switchboard:${opts.name}`,
    password: config.password,
    enableOfflineQueue: !failFast,
    maxRetriesPerRequest: failFast ? 1 : null,
    connectTimeout: 2000,
    commandTimeout: failFast ? 2000 : undefined,
    // Reconnect forever, quickly at first: everything recovers when Redis returns.
    retryStrategy: (times) => Math.min(100 * times, 2000),
    // A failover turns the old primary into a replica under connections that stay open: a write then
    // answers READONLY. Reconnecting (and resending) asks the sentinels again and reaches the new primary.
    reconnectOnError: (err) => (replyCode(err) === 'READONLY' ? 2 : false),
    lazyConnect: false,
    // Commands issued in the same tick share one write. MGET and the realtime log's publish script are
    // left out: their callers batch them themselves (Authenticator, EventLog), and each auto-pipeline
    // flush builds an ioredis Pipeline that copies every defined script (BullMQ's ~50 on a connection its
    // Queues share), which cost more than the write it saved (bench/RESULTS.md).
    enableAutoPipelining: failFast,
    autoPipeliningIgnoredCommands: ['mget', 'rtPublishMany'],
    ...opts.extra,
  };
  if (config.clusterNodes?.length) {
    return new ClassifiedCluster(config.clusterNodes, {
      enableOfflineQueue: common.enableOfflineQueue,
      redisOptions: common,
      clusterRetryStrategy: (times) => Math.min(100 * times, 2000),
      shardedSubscribers: opts.shardedSubscribers ?? false,
    });
  }
  if (config.sentinels?.length) {
    // After SENTINEL FAILOVER the old primary stays a writable master for seconds (until the
    // sentinels demote it): connections on it kept writing where nobody reads. The detector
    // listens for +switch-master and moves every connection at once.
    const client = new ClassifiedRedis({ ...common, sentinels: config.sentinels, name: config.sentinelName, failoverDetector: true });
    reviveAfterSwitchRace(client);
    return client;
  }
  return new ClassifiedRedis(config.url, common);
}

let reviving = true;

/** Shutdown: a client ended from now on was ended on purpose. */
export function stopRevivingRedis(): void {
  reviving = false;
}

/**
 * ioredis 5 (5.11) ends a Sentinel client for good when +switch-master arrives while it is
 * reconnecting: after a kill -9 the primary's connection closes from the far side, so the failover
 * detector of that connection is never cleaned up; when the sentinels then announce the new primary
 * it disconnects the connector, and the reconnect under way — still asking the sentinels where the
 * primary is — fails with "Connection is closed." and sets the status to `end`. Every later command
 * fails at once, and /up stayed 503 for good (full redis-failover drill, 3 api processes under
 * 1,000 sockets: slow sentinel replies make the race likely). A status `end` straight after
 * `connecting` (an ordinary close or quit goes through `close`) is that race: connect again.
 */
function reviveAfterSwitchRace(client: Redis): void {
  let last = '';
  for (const status of ['connecting', 'connect', 'ready', 'close', 'reconnecting']) client.on(status, () => (last = status));
  client.on('end', () => {
    if (last !== 'connecting' || !reviving) return;
    last = '';
    setTimeout(() => {
      if (reviving && client.status === 'end') client.connect().catch(() => undefined);
    }, 100).unref();
  });
}

/** Resolves once the client is ready (or rejects after `timeoutMs`). */
export async function redisReady(client: RedisClient, timeoutMs = 15000): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      client.off('ready', onReady);
    };
    client.on('ready', onReady);
  });
}
