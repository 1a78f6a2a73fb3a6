import type { RedisClient } from './redis.factory';

interface Corkable {
  cork(): void;
  uncork(): void;
}

/**
 * Commands sent on this connection during one turn of the event loop leave in
 * one socket write, made at setImmediate: the first command of a turn corks the
 * connection's socket. For connections without auto-pipelining, whose commands
 * come one per handshake or client event: each write to a socket is a large
 * share of a socket set-up's CPU (bench:setup), and ioredis' auto-pipeline
 * builds a Pipeline per flush, which copies every defined script. Nothing waits
 * longer than the turn, and replies are read as before. A Cluster client is left
 * as it is (its commands go to several sockets).
 */
export function writeOncePerTurn(client: RedisClient): void {
  if ((client as { isCluster?: boolean }).isCluster) return;
  const redis = client as RedisClient & { stream?: Partial<Corkable>; sendCommand(...args: unknown[]): unknown };
  const send = redis.sendCommand;
  if (typeof send !== 'function') return;
  let corked: Corkable | null = null;
  const release = () => {
    const stream = corked;
    corked = null;
    stream?.uncork();
  };
  redis.sendCommand = function (this: typeof redis, ...args: unknown[]) {
    const stream = redis.stream;
    if (!corked && redis.status === 'ready' && typeof stream?.cork === 'function' && typeof stream.uncork === 'function') {
      stream.cork();
      corked = stream as Corkable;
      setImmediate(release);
    }
    return send.apply(this, args);
  };
}
