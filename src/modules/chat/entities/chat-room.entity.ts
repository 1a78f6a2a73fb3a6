import { Column, CreateDateColumn, Entity, OneToMany, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { ChatRoomMember } from './chat-room-member.entity';

@Entity('chat_rooms')
export class ChatRoom {
  @PrimaryGeneratedColumn({ type: 'int', unsigned: true })
  id!: number;

  @Column({ type: 'varchar', length: 200, nullable: true })
  name!: string | null;

  @Column({ name: 'created_by', type: 'int', unsigned: true })
  createdBy!: number;

  /** Stored for the assistant (SPEC §9): the AI module answers in such rooms. */
  @Column({ type: 'tinyint', width: 1, transformer: { to: (v?: boolean) => (v ? 1 : 0), from: (v: number) => Boolean(v) } })
  assistant!: boolean;

  @OneToMany(() => ChatRoomMember, (m) => m.room)
  members!: ChatRoomMember[];

  @CreateDateColumn({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}
