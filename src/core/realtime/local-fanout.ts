import { Injectable } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { socketMessagesSent, socketMessagesTotal } from '../metrics/metrics';
import { spreadCloses } from './close-spread';
import { envelope, EventLog, LoggedEvent, wireId } from './event-log';
import { EventRouting } from './event-routing';
import { formatPosition, Position } from './position';
import { ReplayHolds } from './replay-holds';
import { hearingRoomOf } from './room-hearing';
import { SocketNamespaces } from './socket-namespaces';
import { SocketWrites } from './socket-writes';
import { SseRegistry } from './sse-registry';
import type { AppSocket } from './socket-state';

/**
 * The local end of delivery: each event, once the shard's ChannelReader has
 * put it in order, goes to this process's sockets in the namespaces that
 * deliver it (EventRouting), to its SSE streams (SseRegistry), or, for a
 * control event, to its handler. Sockets in the middle of a recovery replay
 * get live events held (ReplayHolds).
 *
 * The position on the wire is this process's watermark: the last id it
 * delivered from every shard. Each shard is delivered in order, so a socket
 * that was in an event's rooms has everything up to the watermark in those
 * rooms; resuming from it replays exactly what is missing. Frames stay encoded
 * once per room: the watermark is the process's, not the socket's. With one
 * shard the watermark is the event's own id, as before.
 */
@Injectable()
export class LocalFanout {
  private readonly holds = new ReplayHolds();
  private readonly controls = new Map<string, (payload: Record<string, unknown>) => void>();
  /** The last id delivered from each shard. */
  private readonly watermark: number[];
  private anyDelivered = false;

  constructor(
    private readonly routing: EventRouting,
    private readonly namespaces: SocketNamespaces,
    private readonly sse: SseRegistry,
    log: EventLog,
    private readonly writes: SocketWrites,
  ) {
    this.watermark = new Array<number>(log.shards.length).fill(0);
  }

  /** Delivery so far (null before the first event). */
  get delivered(): Position | null {
    return this.anyDelivered ? this.watermark : null;
  }

  /** Where shard `shard` starts (its newest id at start-up): the watermark covers what came before. */
  startAt(shard: number, id: number): void {
    this.watermark[shard] = Math.max(this.watermark[shard], id);
    this.anyDelivered = true;
  }

  /** `handler` runs for every control event of this type, in order with the events around it. */
  onControl(type: string, handler: (payload: Record<string, unknown>) => void): void {
    this.controls.set(type, handler);
  }

  /** Live events for this socket are held back until `endReplay`. */
  beginReplay(socket: Socket): void {
    this.holds.begin(socket);
  }

  /** The replay sent everything up to `lastSent` (ReplayHolds.end). */
  endReplay(socket: Socket, lastSent: Position): void {
    this.writes.toSocket(socket); // the replay itself (SocketRecovery), and what was held during it
    this.holds.end(socket, lastSent, this.delivered, emitAt);
  }

  deliver(e: LoggedEvent): void {
    const shard = e.shard ?? 0;
    this.watermark[shard] = e.id;
    this.anyDelivered = true;
    if (this.watermark.length > 1) {
      e.watermark = [...this.watermark];
      e.position = formatPosition(e.watermark);
    }
    // No room: a control event for the processes, never for clients (an empty room list would address every socket).
    if (!e.rooms.length) this.controls.get(e.eventType)?.(e.payload);
    else if (e.target !== 'sse') this.deliverToSockets(e);
    if (e.rooms.length && e.target !== 'websocket') this.sse.deliver(e);
    this.holds.delivered(this.watermark, this.emitHeld);
  }

  /** A held event, sent once delivery has caught up with the socket's replay. */
  private readonly emitHeld = (socket: Socket, e: LoggedEvent, position: Position): void => {
    this.writes.toSocket(socket);
    emitAt(socket, e, position);
  };

  /**
   * Events this process could not deliver (gone from the channel and from the global stream) must not
   * leave its clients with a silent hole: every socket is disconnected (it reconnects and recovers from
   * its rooms' history, or is told `recovered: false`) and every SSE stream ends (Last-Event-ID).
   */
  resyncAll(): void {
    // The engine connection is closed, not the socket: a client told "io server disconnect" stays
    // away for good, while a closed transport makes it reconnect and recover (or hear recovered:false).
    // Every process resyncs at once after a failover, so the closes are spread (close-spread.ts); until
    // its turn a socket gets no live event (ReplayHolds.holdUntilClosed), so it resumes from before the hole.
    const closes: (() => void)[] = [];
    for (const nsp of this.namespaces.all()) for (const socket of [...nsp.sockets.values()]) closes.push(this.holds.holdUntilClosed(socket));
    spreadCloses(closes);
    this.sse.endAll();
  }

  /**
   * The mark that has a queue's job events announced (room-hearing.ts) was gone while this process had
   * listeners in that queue's rooms: their jobs may have gone unannounced, silently for a live listener. Each
   * is sent away as in `resyncAll` (its recovery finds the history marked incomplete: `recovered: false`,
   * an SSE resume `gap`), but a socket whose recovery is running (it reads history after this) and a
   * stream still opening (it reads history after this) are left alone.
   */
  resyncListenersOf(hearingRoom: string): void {
    const closes: (() => void)[] = [];
    for (const nsp of this.namespaces.all()) {
      const ids = new Set<string>();
      for (const [room, members] of nsp.adapter.rooms) if (hearingRoomOf(room) === hearingRoom) for (const id of members) ids.add(id);
      for (const id of ids) {
        const socket = nsp.sockets.get(id) as AppSocket | undefined;
        if (socket && !socket.data?.recovering) closes.push(this.holds.holdUntilClosed(socket));
      }
    }
    if (closes.length) spreadCloses(closes);
    for (const [room] of this.sse.roomSizes()) if (hearingRoomOf(room) === hearingRoom) for (const listener of this.sse.listenersOf(room)) listener.close?.();
  }

  private deliverToSockets(e: LoggedEvent): void {
    const skip = this.routing.roomToSkip(e.eventType, e.payload);
    for (const name of this.routing.namespacesFor(e.eventType)) {
      const nsp = this.namespaces.get(name);
      if (!nsp) continue;
      let op = nsp.to(e.rooms);
      if (skip) op = op.except(skip);
      const held = this.holds.holdFor(nsp.sockets, name, e, skip);
      if (held.length) op = op.except(held);
      // The id is the last argument: socket.io-client keeps it as the recovery offset.
      op.emit(e.eventType, envelope(e), wireId(e));
      this.writes.toRooms(nsp, e.rooms);
      socketMessagesTotal.inc({ namespace: name, event: e.eventType, direction: 'out' });
      socketMessagesSent.inc({ namespace: name });
    }
  }
}

/** One event to one socket: `eventId` and the offset are the event's position, or `position` when given. */
export function emitTo(socket: Socket, e: LoggedEvent, position?: string): void {
  const id = position ?? wireId(e);
  socket.emit(e.eventType, envelope(e, id), id);
  socketMessagesTotal.inc({ namespace: socket.nsp.name, event: e.eventType, direction: 'out' });
  socketMessagesSent.inc({ namespace: socket.nsp.name });
}

function emitAt(socket: Socket, e: LoggedEvent, position: Position): void {
  emitTo(socket, e, formatPosition(position));
}
