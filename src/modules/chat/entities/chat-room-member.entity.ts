import { CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { ChatRoom } from './chat-room.entity';

@Entity('chat_room_members')
export class ChatRoomMember {
  @PrimaryColumn({ name: 'room_id', type: 'int', unsigned: true })
  roomId!: number;

  @PrimaryColumn({ name: 'user_id', type: 'int', unsigned: true })
  userId!: number;

  @ManyToOne(() => ChatRoom, (r) => r.members, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'room_id' })
  room!: ChatRoom;

  @CreateDateColumn({ name: 'joined_at', type: 'datetime', precision: 3 })
  joinedAt!: Date;
}
