import Redis, { Cluster, ReplyError } from 'ioredis';

/**
 * Which Redis failures mean "Redis is unavailable" (a 503, a retry later),
 * told by where the error came from and by Redis' own reply codes, never by
 * the wording of a message. ioredis rejects a command that got no answer
 * (stream not writable with the offline queue off, connection closed, command
 * timed out, retries exhausted) with errors that carry no class or code of
 * their own, so the clients made by createRedis note every rejection of a
 * command that is not a reply from the server; a reply error is a server's
 * answer and is unavailable only for the codes below.
 */
const unanswered = new WeakSet<object>();

/** ioredis re-exports redis-errors' ReplyError untyped. */
const Reply = ReplyError as abstract new (...args: never[]) => Error;

/** Replies that mean "not now": loading the dataset, no primary, cluster down or resharding, a read-only replica after a failover. */
const UNAVAILABLE_REPLIES = new Set(['LOADING', 'MASTERDOWN', 'CLUSTERDOWN', 'TRYAGAIN', 'READONLY', 'NOREPLICAS']);

function noteUnanswered(err: unknown): void {
  if (err !== null && typeof err === 'object' && !(err instanceof Reply)) unanswered.add(err);
}

/** The error code Redis put first in an error reply (`READONLY You can't write…`); undefined for anything else. */
export function replyCode(err: unknown): string | undefined {
  return err instanceof Reply ? err.message.split(' ', 1)[0] : undefined;
}

/** A command that failed because Redis could not be reached or cannot serve now. */
export function isRedisUnavailable(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false;
  if (unanswered.has(err)) return true;
  const code = replyCode(err);
  return code !== undefined && UNAVAILABLE_REPLIES.has(code);
}

/** A client whose failed commands isRedisUnavailable recognises (sendCommand is ioredis' public entry of every command, pipelines included). */
export class ClassifiedRedis extends Redis {
  override sendCommand(...args: Parameters<Redis['sendCommand']>): unknown {
    args[0].promise.catch(noteUnanswered);
    return super.sendCommand(...args);
  }
}

/** The same for a Redis Cluster client. */
export class ClassifiedCluster extends Cluster {
  override sendCommand(...args: Parameters<Cluster['sendCommand']>): unknown {
    args[0].promise.catch(noteUnanswered);
    return super.sendCommand(...args);
  }
}
