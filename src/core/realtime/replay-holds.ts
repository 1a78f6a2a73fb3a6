import type { Socket } from 'socket.io';
import type { LoggedEvent } from './event-log';
import { dominates, joinPositions, Position } from './position';

/** Live events held for a socket during its replay; `until` once the replay is done but delivery is behind it. */
interface Held {
  /**
   * The socket the hold is for. Holds are found by socket id, and a recovered socket keeps its id: a stale
   * socket of the same id (a client that timed out a connection this process was still setting up, then
   * recovered here again) must never end, or be held by, the new socket's hold.
   */
  socket: Socket;
  events: LoggedEvent[];
  until: Position | null;
}

/** Sends one event to one socket with the position it holds after it (on the wire: `eventId` and the offset). */
export type EmitWithPosition = (socket: Socket, e: LoggedEvent, position: Position) => void;

/** The position a live event was delivered at: its watermark, or with one shard its id. */
const deliveredAt = (e: LoggedEvent): Position => e.watermark ?? [e.id];

/**
 * Sockets in the middle of a recovery replay (SocketRecovery.recover): live
 * events for them are held, so what they missed (read from history) and what
 * is new arrive in order, each once. History in Redis can be ahead of this
 * process's delivery (overload): a replay that went further than delivery has
 * reached keeps the socket out of live delivery until delivery passes it.
 * Positions are per shard (position.ts): "passed" is dominance, and a held
 * event goes out with the replay's position joined to its own, so the
 * client's position never moves back behind what the replay sent.
 */
export class ReplayHolds {
  private readonly replaying = new Map<string, Map<string, Held>>();
  /** Sockets whose replay went further than delivery: held until it catches up. */
  private readonly catchingUp = new Map<Held, Socket>();

  /** Live events for this socket are held back until `end`. */
  begin(socket: Socket): void {
    let sockets = this.replaying.get(socket.nsp.name);
    if (!sockets) this.replaying.set(socket.nsp.name, (sockets = new Map<string, Held>()));
    sockets.set(socket.id, { socket, events: [], until: null });
  }

  /**
   * The replay sent everything up to `lastSent`; delivery has reached `delivered`. Sends what
   * was held after `lastSent` and lets live delivery reach the socket again, or, when delivery is
   * behind the replay in any shard, keeps holding (only what the replay did not send) until
   * `delivered` passes it.
   */
  end(socket: Socket, lastSent: Position, delivered: Position | null, emit: EmitWithPosition): void {
    const sockets = this.replaying.get(socket.nsp.name);
    const held = sockets?.get(socket.id);
    // Another socket's hold under the same id (the stale twin's replay ending after the new socket began its own).
    if (!sockets || !held || held.socket !== socket) return;
    const after = (e: LoggedEvent) => e.id > (lastSent[e.shard ?? 0] ?? 0);
    if (socket.connected && !dominates(delivered ?? [], lastSent)) {
      held.until = lastSent;
      held.events = held.events.filter(after);
      this.catchingUp.set(held, socket);
      return;
    }
    sockets.delete(socket.id);
    this.catchingUp.delete(held);
    if (socket.connected) for (const e of held.events) if (after(e)) emit(socket, e, joinPositions(lastSent, deliveredAt(e)));
  }

  /**
   * A socket that must resync (RealtimeHub.resyncAll) but is closed later, not at once: from now on
   * live events for it are held and never sent (its disconnect drops them), so the offset it resumes
   * from stays before what it may have missed. Returns its close. One in the middle of a replay (its
   * hold ends with the replay) is closed at once.
   */
  holdUntilClosed(socket: Socket): () => void {
    const close = (): void => socket.conn.close();
    if (this.replaying.get(socket.nsp.name)?.get(socket.id)?.socket === socket) {
      close();
      return () => undefined;
    }
    this.begin(socket);
    return close;
  }

  /**
   * A live event for this namespace: the ids of the sockets to leave out of the broadcast (they
   * are replaying), and the event held for each of them that should get it.
   */
  holdFor(sockets: ReadonlyMap<string, Socket>, namespace: string, e: LoggedEvent, skipRoom: string | undefined): string[] {
    const replaying = this.replaying.get(namespace);
    if (!replaying?.size) return [];
    const ids: string[] = [];
    for (const [id, held] of replaying) {
      const socket = sockets.get(id);
      // A hold left by a socket that is gone while a new one of the same id is live: not that socket's; it gets live events.
      if (socket && socket !== held.socket) continue;
      ids.push(id);
      if (!socket || (held.until !== null && e.id <= (held.until[e.shard ?? 0] ?? 0))) continue;
      if (e.rooms.some((r) => socket.rooms.has(r)) && !(skipRoom && socket.rooms.has(skipRoom))) held.events.push(e);
    }
    return ids;
  }

  /** Delivery reached `delivered`: sockets whose replay went up to it go live again. */
  delivered(delivered: Position, emit: EmitWithPosition): void {
    if (!this.catchingUp.size) return;
    for (const [held, socket] of [...this.catchingUp]) if (held.until && dominates(delivered, held.until)) this.end(socket, held.until, delivered, emit);
  }
}
