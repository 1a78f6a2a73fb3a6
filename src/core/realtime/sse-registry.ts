import { Injectable } from '@nestjs/common';
import type { LoggedEvent } from './event-log';

/** An open SSE stream: the rooms it listens to and how to write one event. */
export interface SseListener {
  rooms: Set<string>;
  /** Who opened it and with which credential (credentialTag), so logout and lost access can reach it. */
  userId?: number;
  credential?: number;
  deliver(e: LoggedEvent): void;
  /** Ends the stream; the client resumes from history with Last-Event-ID. */
  close?(): void;
}

/** The SSE streams open on this process, by room: who gets an event, who loses a room, what to end. */
@Injectable()
export class SseRegistry {
  private readonly byRoom = new Map<string, Set<SseListener>>();
  private count = 0;
  private changes = 0;

  get clients(): number {
    return this.count;
  }

  /** Grows whenever a stream opens, closes, joins or leaves a room (what the process stats report changed). */
  get version(): number {
    return this.changes;
  }

  /** Returns the function that removes the stream again. */
  add(listener: SseListener): () => void {
    for (const room of listener.rooms) this.join(room, listener);
    this.count++;
    this.changes++;
    return () => {
      this.count--;
      this.changes++;
      for (const room of listener.rooms) this.leave(room, listener);
    };
  }

  /** The streams listening to a room on this process. */
  listenersOf(room: string): SseListener[] {
    return [...(this.byRoom.get(room) ?? [])];
  }

  /** The stream stops carrying these rooms (the user lost them). */
  dropRooms(listener: SseListener, rooms: string[]): void {
    for (const room of rooms) if (listener.rooms.delete(room)) this.leave(room, listener);
  }

  roomSizes(): Map<string, number> {
    return new Map([...this.byRoom].map(([room, set]) => [room, set.size]));
  }

  /** One event to every stream in any of its rooms, once per stream. */
  deliver(e: LoggedEvent): void {
    const seen = new Set<SseListener>();
    for (const room of e.rooms) {
      for (const listener of this.byRoom.get(room) ?? []) {
        if (seen.has(listener)) continue;
        seen.add(listener);
        listener.deliver(e);
      }
    }
  }

  /** Ends every stream of this process (its clients resume elsewhere with Last-Event-ID); how many. */
  endAll(): number {
    const listeners = new Set([...this.byRoom.values()].flatMap((set) => [...set]));
    for (const listener of listeners) listener.close?.();
    return listeners.size;
  }

  private join(room: string, listener: SseListener): void {
    let set = this.byRoom.get(room);
    if (!set) this.byRoom.set(room, (set = new Set()));
    set.add(listener);
    this.changes++;
  }

  private leave(room: string, listener: SseListener): void {
    const set = this.byRoom.get(room);
    set?.delete(listener);
    if (set && !set.size) this.byRoom.delete(room);
    this.changes++;
  }
}
