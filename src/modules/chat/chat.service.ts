import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from '../../core/errors/domain-error';
import { RealtimeService } from '../../core/realtime/realtime.contract';
import { chatRoom } from './chat-rooms';
import type { Principal } from '../../core/session/principal';
import { UsersService } from '../auth/users.service';
import { NotificationsService } from '../notifications/notifications.service';
import { MessageView, RoomView } from './chat.views';
import { ChatRoomMember } from './entities/chat-room-member.entity';
import { ChatRoom } from './entities/chat-room.entity';
import { Message } from './entities/message.entity';

function messageView(m: Message): MessageView {
  return { id: Number(m.id), roomId: m.roomId, userId: m.userId, body: m.body, createdAt: m.createdAt.toISOString() };
}

function roomView(r: ChatRoom): RoomView {
  return {
    id: r.id,
    name: r.name,
    createdBy: r.createdBy,
    assistant: r.assistant,
    memberIds: (r.members ?? []).map((m) => m.userId).sort((a, b) => a - b),
    createdAt: r.createdAt.toISOString(),
  };
}

/** Called after a member's message is stored and delivered (e.g. the assistant's trigger). */
export type MemberMessageListener = (room: { id: number; assistant: boolean }, message: MessageView) => Promise<void>;

@Injectable()
export class ChatService {
  private readonly memberMessageListeners: MemberMessageListener[] = [];

  constructor(
    @InjectRepository(ChatRoom) private readonly rooms: Repository<ChatRoom>,
    @InjectRepository(ChatRoomMember) private readonly members: Repository<ChatRoomMember>,
    @InjectRepository(Message) private readonly messages: Repository<Message>,
    private readonly users: UsersService,
    private readonly realtime: RealtimeService,
    private readonly notifications: NotificationsService,
  ) {}

  async createRoom(creatorId: number, input: { name?: string; memberIds: number[]; assistant?: boolean }): Promise<RoomView> {
    const ids = [...new Set([creatorId, ...input.memberIds])];
    const missing = await this.users.missing(ids.filter((id) => id !== creatorId));
    if (missing.length) throw new BadRequestError(`memberIds name unknown users: ${missing.join(', ')}`);
    const saved = await this.rooms.manager.transaction(async (tx) => {
      const room = await tx.save(ChatRoom, tx.create(ChatRoom, { name: input.name ?? null, createdBy: creatorId, assistant: input.assistant ?? false }));
      await tx.insert(ChatRoomMember, ids.map((userId) => ({ roomId: room.id, userId })));
      return room;
    });
    const view = await this.room(saved.id);
    // Everyone added by someone else hears about it (persisted, live, unread count).
    for (const userId of ids.filter((id) => id !== creatorId)) {
      await this.notifications.notify(userId, {
        type: 'chat.room_added',
        title: `You were added to ${view.name ?? 'a chat room'}`,
        data: { roomId: view.id, by: creatorId },
      });
    }
    return view;
  }

  /** Rooms the user is a member of (replica; sticky after the user's own writes). */
  async roomsOf(userId: number): Promise<RoomView[]> {
    const rows = await this.rooms
      .createQueryBuilder('r')
      .innerJoin(ChatRoomMember, 'mine', 'mine.room_id = r.id AND mine.user_id = :userId', { userId })
      .leftJoinAndSelect('r.members', 'm')
      .orderBy('r.id', 'DESC')
      .getMany();
    return rows.map(roomView);
  }

  async room(id: number): Promise<RoomView> {
    const room = await this.rooms.findOne({ where: { id }, relations: { members: true } });
    if (!room) throw new NotFoundError('Room');
    return roomView(room);
  }

  /** not_found for a room that does not exist, forbidden for someone else's. */
  async assertMember(userId: number, roomId: number): Promise<void> {
    if (await this.members.existsBy({ roomId, userId })) return;
    if (!(await this.rooms.existsBy({ id: roomId }))) throw new NotFoundError('Room');
    throw new ForbiddenError('You are not a member of this room');
  }

  /** Newest first; `before` is the id of the oldest message already seen. */
  async history(userId: number, roomId: number, before?: string, limit = 50): Promise<{ messages: MessageView[]; nextBefore: number | null }> {
    await this.assertMember(userId, roomId);
    const q = this.messages.createQueryBuilder('m').where('m.room_id = :roomId', { roomId }).orderBy('m.id', 'DESC').take(limit);
    if (before) q.andWhere('m.id < :before', { before });
    const rows = await q.getMany();
    const messages = rows.map(messageView);
    return { messages, nextBefore: rows.length === limit ? messages[messages.length - 1].id : null };
  }

  /** Stores the message, then `message:new` to the room on every api process. */
  async send(userId: number, roomId: number, body: string): Promise<MessageView> {
    await this.assertMember(userId, roomId);
    const view = await this.post(userId, roomId, body, { asMember: true });
    if (this.memberMessageListeners.length) {
      const room = await this.rooms.findOne({ where: { id: roomId }, select: { id: true, assistant: true } });
      if (room) for (const listener of this.memberMessageListeners) await listener({ id: room.id, assistant: room.assistant }, view);
    }
    return view;
  }

  onMemberMessage(listener: MemberMessageListener): void {
    this.memberMessageListeners.push(listener);
  }

  /** The `limit` messages of a room before `messageId`, oldest first (context for the assistant). */
  async recentBefore(roomId: number, messageId: number | string, limit: number): Promise<Array<{ userId: number; body: string }>> {
    const rows = await this.messages
      .createQueryBuilder('m')
      .where('m.room_id = :roomId AND m.id < :messageId', { roomId, messageId })
      .orderBy('m.id', 'DESC')
      .take(limit)
      .getMany();
    return rows.reverse().map((m) => ({ userId: m.userId, body: m.body }));
  }

  /**
   * The room's creator or an admin removes a member, or a member leaves. The
   * member's sockets leave the room on every process at once and their SSE
   * streams stop carrying it. The creator stays.
   */
  async removeMember(me: Principal, roomId: number, userId: number): Promise<void> {
    const room = await this.rooms.findOne({ where: { id: roomId }, relations: { members: true } });
    if (!room) throw new NotFoundError('Room');
    const callerIsMember = room.members.some((m) => m.userId === me.id);
    if (me.role !== 'admin' && room.createdBy !== me.id) {
      if (!callerIsMember) throw new ForbiddenError('You are not a member of this room');
      if (userId !== me.id) throw new ForbiddenError('Only the creator of the room or an admin may remove another member');
    }
    if (userId === room.createdBy) throw new ConflictError('The creator cannot be removed from the room');
    const removed = await this.members.delete({ roomId, userId });
    if (!removed.affected) throw new NotFoundError('Member');
    await this.realtime.revokeAccess(userId, [chatRoom(roomId)]);
  }

  /** Adds a member if not one already (idempotent). */
  async ensureMember(roomId: number, userId: number): Promise<void> {
    await this.members.createQueryBuilder().insert().into(ChatRoomMember).values({ roomId, userId }).orIgnore().execute();
  }

  /**
   * Stores and delivers a message. `asMember`: only while the sender is a
   * member, checked by the insert itself on the primary (assertMember read a
   * replica, which may not have seen a removal yet); without it, for the
   * assistant and other trusted senders, no check.
   */
  async post(userId: number, roomId: number, body: string, opts: { asMember?: boolean } = {}): Promise<MessageView> {
    const text = body.trim();
    if (!text) throw new BadRequestError('body must not be empty');
    let id: string;
    if (opts.asMember) {
      // One statement that reads (and share-locks) the membership row: a removal committed before it leaves
      // nothing to insert, a concurrent one waits until the message is in.
      const inserted = await this.messages.query<{ affectedRows: number; insertId: number | string }>(
        'INSERT INTO messages (room_id, user_id, body) SELECT ?, ?, ? FROM chat_room_members WHERE room_id = ? AND user_id = ?',
        [roomId, userId, text, roomId, userId],
      );
      if (!inserted.affectedRows) throw new ForbiddenError('You are not a member of this room');
      id = String(inserted.insertId);
    } else {
      id = (await this.messages.save(this.messages.create({ roomId, userId, body: text }))).id;
    }
    const stored = await this.messages.findOneByOrFail({ id });
    const view = messageView(stored);
    await this.realtime.toRoom(chatRoom(roomId), 'message:new', view);
    return view;
  }

  async typing(userId: number, roomId: number): Promise<void> {
    await this.assertMember(userId, roomId);
    await this.realtime.toRoom(chatRoom(roomId), 'typing', { roomId, userId }, { target: 'websocket' });
  }
}
