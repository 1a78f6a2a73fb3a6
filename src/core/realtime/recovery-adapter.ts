import { Logger } from '@nestjs/common';
import type { Namespace } from 'socket.io';
import { Adapter, Session } from 'socket.io-adapter';
import { preConnectSocket } from '../patches/socket-io';
import { EventLog } from './event-log';
import { ADMINS_ROOM, BROADCAST_ROOM } from './redis-realtime.service';
import { userRoom } from './realtime.contract';
import { PendingRecovery, SocketSessionStore, StoredSession } from './socket-sessions';

/**
 * Socket.IO's in-memory adapter for local rooms, plus connection state
 * recovery backed by Redis. Delivery across processes does not go through
 * the adapter (RealtimeHub fans out from one Redis channel), so this only
 * decides whether a session can be recovered at all: the session exists, it
 * belongs to this namespace, and history covers every room since the offset
 * (all or nothing). It returns no rooms and no packets: authentication runs
 * again in the middleware (recovery never skips it) and the connection
 * handler re-checks each room before replaying, so nothing is sent to a
 * socket before it has proven who it is.
 */
export function recoveryAdapter(log: EventLog, sessions: SocketSessionStore): typeof Adapter {
  const logger = new Logger('SocketRecovery');
  return class RecoveringAdapter extends Adapter {
    constructor(nsp: Namespace) {
      super(nsp);
    }

    override persistSession(): void {
      // Sessions are kept current in Redis while connected (SocketSessionStore).
    }

    override async restoreSession(pid: string, offset: string): Promise<Session> {
      // An offset of another shard layout (REALTIME_SHARDS changed) cannot be placed: no recovery, the client refetches.
      const parsed = typeof offset === 'string' ? log.parse(offset) : null;
      if (typeof pid !== 'string' || parsed?.kind !== 'at') return null as unknown as Session;
      const stored = await sessions.load(pid).catch(() => null);
      if (!stored || stored.nsp !== (this.nsp as { name: string }).name) return null as unknown as Session;
      // From here to the claim, a subscribe that finishes on an ended socket of this id hands its room
      // over: the session it writes could land after the claim read it (the recovered socket would then
      // be in every room but that one, and say recovered:true).
      const handed = sessions.openClaim(stored.sid);
      let claimed: StoredSession | null;
      try {
        const rooms = [...stored.rooms, userRoom(stored.userId), BROADCAST_ROOM, ADMINS_ROOM];
        const history = await log.readAfter(rooms, parsed.position).catch((err: Error) => {
          logger.warn({ err: err.message }, 'history unavailable, recovery refused');
          return null;
        });
        if (!history || history.gap) return null as unknown as Session;
        // The session is consumed (read and deleted in one command): a second reconnect with the same pid
        // cannot replay it twice. Two that read it at the same time (a client that gave up on the first
        // while Redis answered) both get here: only the one that consumed it recovers, the other starts
        // afresh (recovered: false). Its rooms are those it lists now (a room written since the first read
        // included; one not in that read is checked against history by the recovery itself).
        claimed = await sessions.claim(pid).catch(() => stored);
      } finally {
        handed.close();
      }
      if (!claimed) {
        logger.warn({ sid: stored.sid }, 'session recovered by another handshake at the same time, this one starts afresh');
        return null as unknown as Session;
      }
      const recovery: PendingRecovery = { userId: stored.userId, rooms: [...new Set([...claimed.rooms, ...handed.rooms])], offset };
      // A socket of this id still in the middlewares here (its client left that handshake and came back):
      // when socket.io drops it, its clean-up takes the id out of every room and out of the namespace,
      // which would leave the socket recovered now connected and deaf. This one starts afresh instead.
      if (preConnectSocket(this.nsp as Namespace, stored.sid)) {
        logger.warn({ sid: stored.sid }, 'a socket of this session is still handshaking here, recovery refused');
        return null as unknown as Session;
      }
      // A client that gave up on a connection this process still holds (a connect timeout or a missed
      // ping under load) recovers here under the same socket id. The stale socket is ended first: its
      // clean-up, whenever it came, would take that id out of its rooms and the namespace, leaving the
      // recovered socket connected and deaf (18 sockets in bench:scale at 100,000). Ended synchronously
      // here, before socket.io creates the new socket and runs the middlewares.
      (this.nsp as Namespace).sockets.get(stored.sid)?.disconnect();
      return { sid: stored.sid, pid: stored.pid, rooms: [], data: { recovery }, missedPackets: [] };
    }
  };
}
