import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AppConfig } from '../../config/app-config';
import { UnauthorizedError, UnavailableError } from '../errors/domain-error';
import { realtimeShedTotal, sseActiveClients } from '../metrics/metrics';
import { principalCredential } from '../session/credential-tag';
import type { Principal } from '../session/principal';
import { ClusterState } from './cluster-state';
import { connectionAddress } from './connection-address';
import { envelope, EventLog, LoggedEvent } from './event-log';
import { resumePoint } from './last-event-id';
import { advance, dominates, formatPosition, joinPositions, Position } from './position';
import { SseListener, SseRegistry } from './sse-registry';
import { RecentRevocations } from './recent-revocations';
import { userRoom } from './realtime.contract';
import { ADMINS_ROOM, BROADCAST_ROOM } from './redis-realtime.service';
import { RoomAccess } from './room-access';
import { RoomHearing } from './room-hearing';
import type { SlotHolderKind } from './slot-ledger';

/** A stream whose unsent output passes this is closed; the client resumes from history with Last-Event-ID. */
const MAX_SSE_BUFFER_BYTES = 1024 * 1024;
const RETRY_MS = 3000;

/**
 * SSE streams (SPEC §5): same auth and room rules as sockets, ids from the
 * shared id space, Last-Event-ID replay from Redis history on any process
 * (live events that arrive during the replay are held and de-duplicated, so
 * none is sent twice), `Last-Event-ID-Status: replayed|gap`, keep-alives.
 */
@Injectable()
export class SseStreams implements BeforeApplicationShutdown {
  private readonly logger = new Logger('Sse');
  /** Each open stream's cleanup, for a stream whose close was never seen (ClusterState.reconcile). */
  private readonly streams = new Map<Response, () => void>();
  private closing = false;
  /** A response emits 'close' once and is `destroyed` from then on. */
  private readonly slotKind: SlotHolderKind<Response> = {
    transport: 'sse',
    isOpen: (res) => !res.destroyed,
    forget: (res) => this.streams.get(res)?.(),
  };

  constructor(
    private readonly config: AppConfig,
    private readonly access: RoomAccess,
    private readonly cluster: ClusterState,
    private readonly registry: SseRegistry,
    private readonly log: EventLog,
    private readonly revocations: RecentRevocations,
    private readonly hearing: RoomHearing,
  ) {}

  /**
   * The client may leave during any await of the set-up (authentication ran before this, then
   * room checks, the slot, history). Its response's 'close' has then already been emitted, and a
   * listener added afterwards would never run: so after each await, a destroyed response ends
   * the set-up, and what the stream holds (slot, hub listener, presence, keep-alive timer) is
   * taken only while the response is open, with the close listener added in the same tick.
   */
  async open(req: Request, res: Response, user: Principal, requested: string[]): Promise<void> {
    // 503 before anything is written: nginx sends the GET on to another process (proxy_next_upstream http_503).
    if (this.closing) throw new UnavailableError('This process is shutting down');
    // Nothing between the request's authentication and here waits on I/O, so the channel has delivered nothing since.
    const checkedAt = this.revocations.mark();
    const ip = connectionAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], this.config.http.trustedProxies);
    for (const room of requested) await this.access.assert(user, room);
    const resume = resumePoint(req, this.log.shards.length);
    if (res.destroyed) return;
    const rooms = new Set([...requested, userRoom(user.id), BROADCAST_ROOM, ...(user.role === 'admin' ? [ADMINS_ROOM] : [])]);
    // A queue's room or job room is heard before the stream listens (so a lapsed mark's resync of this
    // process's listeners leaves it alone), before its history is read (a queue not heard meanwhile has it
    // marked incomplete: told `gap`) and before it is answered (its jobs announced from then on).
    await this.hearing.hear(rooms);
    if (res.destroyed) return;
    await this.cluster.acquire(ip, this.slotKind, res);
    if (res.destroyed) {
      this.cluster.release(res);
      return;
    }

    let replaying = true;
    let closed = false;
    // The stream's position (position.ts): an event at or before it in its shard was sent already.
    let sent: Position = new Array<number>(this.log.shards.length).fill(0);
    const held: LoggedEvent[] = [];
    const write = (e: LoggedEvent) => {
      const shard = e.shard ?? 0;
      if (closed || res.writableEnded || e.id <= sent[shard]) return;
      // A live event carries the watermark it was delivered at; joined, the stream's position never moves
      // back behind what its replay sent (history can be ahead of this process's delivery).
      sent = e.watermark ? joinPositions(sent, e.watermark) : advance(sent, shard, e.id);
      const id = formatPosition(sent);
      res.write(`id: ${id}\nevent: ${e.eventType}\ndata: ${JSON.stringify(envelope(e, id))}\n\n`);
      if (res.writableLength > MAX_SSE_BUFFER_BYTES) {
        // Shed a consumer that cannot keep up; it loses nothing: Last-Event-ID brings it back from history.
        realtimeShedTotal.inc({ transport: 'sse' });
        this.logger.warn({ userId: user.id }, 'slow SSE client shed');
        res.end();
      }
    };
    const listener: SseListener = {
      rooms,
      userId: user.id,
      credential: principalCredential(user, req.sessionID),
      deliver: (e) => (replaying ? held.push(e) : write(e)),
      close: () => res.end(),
    };
    const detach = this.registry.add(listener);
    // Access lost between the checks above and now was not applied to this stream yet.
    this.registry.dropRooms(listener, requested.filter((room) => this.revocations.revokedSince(user.id, room, checkedAt)));
    let keepAlive: NodeJS.Timeout | undefined;
    const cleanup = () => {
      if (closed) return;
      closed = true;
      clearInterval(keepAlive);
      detach();
      this.streams.delete(res);
      this.cluster.release(res);
      this.cluster.userOffline(user.id);
      sseActiveClients.dec();
    };
    this.cluster.userOnline(user.id);
    sseActiveClients.inc();
    res.on('close', cleanup);
    this.streams.set(res, cleanup);

    try {
      // SIGTERM came during the set-up: shutdown has ended the streams it knew, this one ends here.
      if (this.closing) throw new UnavailableError('This process is shutting down');
      // A logout heard since the checks missed this stream (it was not listed yet).
      if (this.revocations.endedSince(user.id, listener.credential, checkedAt)) throw new UnauthorizedError('The session or token of this request has ended');
      // An id past the newest (or past any id at all) was never ours to have seen: resuming after it
      // would filter out every event up to it. Told `gap`, the client resumes from now.
      const newest = resume.kind === 'none' ? null : await this.log.currentPosition();
      const known = resume.kind === 'at' && newest && dominates(newest, resume.position) ? resume.position : null;
      const beyond = resume.kind !== 'none' && known === null;
      const lastEventId = newest === null ? null : (known ?? newest);
      const history = lastEventId === null ? null : await this.log.readAfter([...rooms], lastEventId);
      // Left (or ended by a resync) during the history read: no keep-alive timer may start now; cleanup ran or its 'close' is on the way.
      if (closed || res.writableEnded) return;
      res.status(200);
      res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
      res.setHeader('Cache-Control', 'no-cache, no-transform');
      res.setHeader('Connection', 'keep-alive');
      res.setHeader('X-Accel-Buffering', 'no');
      if (history) res.setHeader('Last-Event-ID-Status', beyond || history.gap ? 'gap' : 'replayed');
      res.flushHeaders();
      res.write(`retry: ${RETRY_MS}\n\n`);
      // Seed 003's EventSource clients wait for `connected`. It has no id line, so it never moves the client's Last-Event-ID.
      const hello = { userId: user.id, rooms: [...rooms].filter((r) => r !== BROADCAST_ROOM && r !== ADMINS_ROOM), eventType: 'connected', timestamp: new Date().toISOString() };
      res.write(`event: connected\ndata: ${JSON.stringify(hello)}\n\n`);
      if (lastEventId !== null) sent = lastEventId;
      for (const e of history?.events ?? []) if (e.target !== 'websocket') write(e);
      for (const e of held) write(e);
      replaying = false;
      keepAlive = setInterval(() => !res.writableEnded && res.write(': keep-alive\n\n'), this.config.realtime.sseKeepaliveMs);
    } catch (err) {
      cleanup();
      throw err;
    }
  }

  /**
   * SIGTERM: every stream ends now, cleanly, so its client comes back with Last-Event-ID on
   * another process (a browser after `retry`). An open stream would otherwise keep the HTTP server
   * from closing until Supervisor's stopwaitsecs ran out and it SIGKILLed the process: the
   * rolling-deploy drill saw every "graceful" restart under load end that way (drills/RESULTS.md).
   */
  beforeApplicationShutdown(): void {
    this.closing = true;
    for (const res of [...this.streams.keys()]) res.end();
  }
}
