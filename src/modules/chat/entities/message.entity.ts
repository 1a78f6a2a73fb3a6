import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity('messages')
export class Message {
  /** BIGINT: kept as a string so ids past 2^53 stay exact. */
  @PrimaryGeneratedColumn({ type: 'bigint', unsigned: true })
  id!: string;

  @Column({ name: 'room_id', type: 'int', unsigned: true })
  roomId!: number;

  @Column({ name: 'user_id', type: 'int', unsigned: true })
  userId!: number;

  @Column({ type: 'text' })
  body!: string;

  /** The sender's idempotency key, unique per sender (a resend finds this row instead of adding one). */
  @Column({ name: 'client_message_id', type: 'varchar', length: 64, nullable: true, charset: 'ascii', collation: 'ascii_bin' })
  clientMessageId!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;
}
