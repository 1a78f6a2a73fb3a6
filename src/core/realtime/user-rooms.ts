import { Injectable } from '@nestjs/common';
import type { Principal } from '../session/principal';
import { parseRoomId, RoomKind, RoomKindProvider } from './room-kinds';

/** `user:<id>`: the user's own room (every authenticated socket and stream is in it); only that user may listen. */
@Injectable()
@RoomKindProvider()
export class UserRooms implements RoomKind<number> {
  readonly prefix = 'user';

  parse(rest: string): number | null {
    return parseRoomId(rest);
  }

  async mayListen(user: Principal, userId: number): Promise<boolean> {
    return userId === user.id;
  }
}
