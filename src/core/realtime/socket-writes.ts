import { Injectable } from '@nestjs/common';
import type { Namespace, Socket } from 'socket.io';

/**
 * What this process wrote to its sockets since SlowSocketShedder last looked: the rooms an event
 * was fanned out to, per namespace, and sockets written to one by one (a recovery's replay, events
 * held during it). Only a write grows a socket's unsent output, so the shedder looks at these sockets
 * each second instead of walking every socket (at 12,500 idle sockets that walk was ~12 ms of every
 * second and the largest periodic block of an idle process, issue 18). Rooms, not their members, are
 * kept: a fan-out to a room costs a Set lookup here, whatever its size.
 */
@Injectable()
export class SocketWrites {
  private rooms = new Map<Namespace, Set<string>>();
  private sockets = new Set<Socket>();

  toRooms(nsp: Namespace, rooms: readonly string[]): void {
    let names = this.rooms.get(nsp);
    if (!names) this.rooms.set(nsp, (names = new Set<string>()));
    for (const room of rooms) names.add(room);
  }

  toSocket(socket: Socket): void {
    this.sockets.add(socket);
  }

  /** Everything written to since the last call, once. */
  take(): { rooms: ReadonlyMap<Namespace, ReadonlySet<string>>; sockets: ReadonlySet<Socket> } {
    const taken = { rooms: this.rooms, sockets: this.sockets };
    if (this.rooms.size) this.rooms = new Map();
    if (this.sockets.size) this.sockets = new Set();
    return taken;
  }
}
