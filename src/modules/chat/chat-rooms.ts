import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { userRoom } from '../../core/realtime/realtime.contract';
import { parseRoomId, RoomKind, RoomKindProvider } from '../../core/realtime/room-kinds';
import type { Principal } from '../../core/session/principal';
import { ChatRoomMember } from './entities/chat-room-member.entity';

export const chatRoom = (roomId: number | string) => `chat:${roomId}`;

/**
 * `chat:<id>`: a chat room's live messages; its members only (admins are no
 * exception: a conversation is not an operations view). Raw queries through
 * the repository run on the primary (see ProjectRooms).
 */
@Injectable()
@RoomKindProvider()
export class ChatRooms implements RoomKind<number> {
  readonly prefix = 'chat';

  constructor(@InjectRepository(ChatRoomMember) private readonly members: Repository<ChatRoomMember>) {}

  parse(rest: string): number | null {
    return parseRoomId(rest);
  }

  async mayListen(user: Principal, roomId: number): Promise<boolean> {
    const rows = await this.members.query<unknown[]>('SELECT 1 FROM chat_room_members WHERE room_id = ? AND user_id = ? LIMIT 1', [roomId, user.id]);
    return rows.length > 0;
  }

  async sharingWith(userId: number, among: number[]): Promise<number[]> {
    const rows = await this.members.query<{ user_id: number | string }[]>(
      `SELECT DISTINCT other.user_id FROM chat_room_members mine
         JOIN chat_room_members other ON other.room_id = mine.room_id
        WHERE mine.user_id = ? AND other.user_id IN (?)`,
      [userId, among],
    );
    return rows.map((r) => Number(r.user_id));
  }
}

/** `typing` reaches the others in the chat room, never the typist (any of their tabs): every authenticated socket is in its user room. */
export function typistRoom(eventType: string, payload: Record<string, unknown>): string | undefined {
  if (eventType !== 'typing') return undefined;
  const id = payload.userId;
  return typeof id === 'number' && Number.isSafeInteger(id) ? userRoom(id) : undefined;
}
