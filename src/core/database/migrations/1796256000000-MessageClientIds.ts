import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * message:send (`clientMessageId`) and POST /api/chat/rooms/:id/messages (`Idempotency-Key`) take
 * an optional idempotency key. It is stored in the message's own row under a unique index per
 * sender, so the key and the message commit together and a resend after a lost ack finds the
 * original instead of storing it twice (docs/architecture.md, "Idempotent message sends").
 * NULL for messages sent without one (a unique index allows any number of NULLs).
 */
export class MessageClientIds1796256000000 implements MigrationInterface {
  name = 'MessageClientIds1796256000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE messages
      ADD COLUMN client_message_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL AFTER body,
      ADD UNIQUE KEY uq_messages_sender_client_id (user_id, client_message_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    // The foreign key on user_id may be using the unique index: give it one of its own first.
    await q.query('ALTER TABLE messages ADD KEY idx_messages_user (user_id)');
    await q.query('ALTER TABLE messages DROP KEY uq_messages_sender_client_id, DROP COLUMN client_message_id');
  }
}
