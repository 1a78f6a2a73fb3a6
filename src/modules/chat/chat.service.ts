import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { QueryFailedError, Repository } from 'typeorm';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from '../../core/errors/domain-error';
import { RealtimeService } from '../../core/realtime/realtime.contract';
import { chatRoom } from './chat-rooms';
import type { Principal } from '../../core/session/principal';
import { UsersService } from '../auth/users.service';
import { NotificationsService } from '../notifications/notifications.service';
import { MessageView, RoomView, SentMessage } from './chat.views';
import { DeliveryMarks } from './delivery-marks';
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

/** A unique index refused the row (here: the sender's clientMessageId is taken). */
function isDuplicateKey(err: unknown): boolean {
  return err instanceof QueryFailedError && (err.driverError as { code?: string }).code === 'ER_DUP_ENTRY';
}

/** Called after a member's message is stored and delivered (e.g. the assistant's trigger). */
export type MemberMessageListener = (room: { id: number; assistant: boolean }, message: MessageView) => Promise<void>;

@Injectable()
export class ChatService {
  private readonly logger = new Logger(ChatService.name);
  private readonly memberMessageListeners: MemberMessageListener[] = [];

  constructor(
    @InjectRepository(ChatRoom) private readonly rooms: Repository<ChatRoom>,
    @InjectRepository(ChatRoomMember) private readonly members: Repository<ChatRoomMember>,
    @InjectRepository(Message) private readonly messages: Repository<Message>,
    private readonly users: UsersService,
    private readonly realtime: RealtimeService,
    private readonly notifications: NotificationsService,
    private readonly marks: DeliveryMarks,
  ) {}

  async createRoom(creatorId: number, input: { name?: string; memberIds: number[]; assistant?: boolean }): Promise<RoomView> {
    const ids = [...new Set([creatorId, ...input.memberIds])];
    const saved = await this.rooms.manager.transaction(async (tx) => {
      // In the transaction: on the primary, which has a user registered a moment ago (a replica may not yet).
      const missing = await this.users.missing(ids.filter((id) => id !== creatorId), tx);
      if (missing.length) throw new BadRequestError(`memberIds name unknown users: ${missing.join(', ')}`);
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

  /**
   * Stores the message, then `message:new` to the room on every api process. With a
   * `clientMessageId` the sender already used, nothing is stored again: the answer is the message
   * that send stored (`replayed`), so a client that lost an ack can simply resend; it is delivered
   * again only if the first send never delivered it (DeliveryMarks).
   */
  async send(userId: number, roomId: number, body: string, clientMessageId?: string): Promise<SentMessage> {
    await this.assertMember(userId, roomId);
    const stored = await this.insertAsMember(userId, roomId, this.text(body), clientMessageId ?? null);
    if ('earlier' in stored) {
      // Normally the first send delivered it; if that process died (or lost Redis) before the publish, this resend does it.
      if (await this.marks.claimUndelivered(stored.earlier.id, new Date(stored.earlier.createdAt))) await this.publish(stored.earlier);
      return { message: stored.earlier, replayed: true };
    }
    const view = await this.deliver(stored.id);
    if (clientMessageId !== undefined) await this.marks.mark(view.id).catch((err: Error) => this.logger.warn({ err: err.message, messageId: view.id }, 'delivery not marked: a resend may deliver it again'));
    if (this.memberMessageListeners.length) {
      const room = await this.rooms.findOne({ where: { id: roomId }, select: { id: true, assistant: true } });
      if (room) for (const listener of this.memberMessageListeners) await listener({ id: room.id, assistant: room.assistant }, view);
    }
    return { message: view, replayed: false };
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
    const text = this.text(body);
    let id: string;
    if (opts.asMember) {
      const stored = await this.insertAsMember(userId, roomId, text, null);
      if ('earlier' in stored) return stored.earlier; // unreachable without a key
      id = stored.id;
    } else {
      id = (await this.messages.save(this.messages.create({ roomId, userId, body: text }))).id;
    }
    return this.deliver(id);
  }

  private text(body: string): string {
    const text = body.trim();
    if (!text) throw new BadRequestError('body must not be empty');
    return text;
  }

  /**
   * One statement that reads (and share-locks) the membership row: a removal committed before it
   * leaves nothing to insert, a concurrent one waits until the message is in. With a key, the
   * unique index (user_id, client_message_id) makes concurrent sends of one message race safely:
   * InnoDB lets the first insert through and holds the others until it commits, then refuses them
   * (ER_DUP_ENTRY), and they answer with the row the first one stored.
   */
  private async insertAsMember(userId: number, roomId: number, text: string, key: string | null): Promise<{ id: string } | { earlier: MessageView }> {
    let inserted: { affectedRows: number; insertId: number | string };
    try {
      inserted = await this.messages.query<{ affectedRows: number; insertId: number | string }>(
        'INSERT INTO messages (room_id, user_id, body, client_message_id) SELECT ?, ?, ?, ? FROM chat_room_members WHERE room_id = ? AND user_id = ?',
        [roomId, userId, text, key, roomId, userId],
      );
    } catch (err) {
      if (key !== null && isDuplicateKey(err)) return { earlier: await this.earlier(userId, roomId, text, key) };
      throw err;
    }
    if (!inserted.affectedRows) throw new ForbiddenError('You are not a member of this room');
    return { id: String(inserted.insertId) };
  }

  /**
   * The message this sender stored under `key`, read in a transaction so on the primary, where the
   * insert just met it (a replica may not have it yet). The same key for another room or another
   * body is a client bug: `conflict`, never someone else's message passed off as this one.
   */
  private async earlier(userId: number, roomId: number, text: string, key: string): Promise<MessageView> {
    const earlier = await this.messages.manager.transaction((tx) => tx.findOneBy(Message, { userId, clientMessageId: key }));
    if (!earlier) throw new NotFoundError('The message first sent with this clientMessageId');
    if (earlier.roomId !== roomId || earlier.body !== text) throw new ConflictError('clientMessageId was already used for a different message');
    return messageView(earlier);
  }

  /** Reads the stored row back (sticky: the primary) and sends `message:new` to the room. */
  private async deliver(id: string): Promise<MessageView> {
    const view = messageView(await this.messages.findOneByOrFail({ id }));
    await this.publish(view);
    return view;
  }

  private async publish(view: MessageView): Promise<void> {
    await this.realtime.toRoom(chatRoom(view.roomId), 'message:new', view);
  }

  async typing(userId: number, roomId: number): Promise<void> {
    await this.assertMember(userId, roomId);
    await this.realtime.toRoom(chatRoom(roomId), 'typing', { roomId, userId }, { target: 'websocket' });
  }
}
