import { Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { runInRequestContext } from '../../core/database/request-context';
import { ConflictError } from '../../core/errors/domain-error';
import { UsersService } from '../auth/users.service';
import { AiService, MAX_QUERY_CHARS } from './ai.service';

export const ASSISTANT_EMAIL = 'assistant@switchboard.local';
export const ASSISTANT_NAME = 'Assistant';
/** Messages of context sent with each question, and how much of each. */
export const ASSISTANT_CONTEXT_MESSAGES = 3;
const CONTEXT_MESSAGE_CHARS = 280;

/**
 * The `high` queue job that answers a member message in an assistant room:
 * dispatched and handled by AssistantReplies (modules/assistant), with the
 * job id `assistant-reply-<messageId>` (BullMQ refuses ':' in custom ids), so
 * a retried send never answers twice. AiUnavailableError propagates: BullMQ
 * retries with backoff.
 */
export const ASSISTANT_REPLY_JOB = 'assistant-reply';

export interface AssistantReplyJob {
  roomId: number;
  /** The member message being answered (messages.id is a bigint: a string). */
  /** A string in jobs queued before ids became numbers on the wire. */
  messageId: number | string;
  authorId: number;
  body: string;
}

export interface RecentMessage {
  userId: number;
  body: string;
}

/**
 * What an assistant room says. The chat module stores and delivers the
 * reply; this only decides its text (and who the assistant user is).
 * The context is a short snippet of the room (the last few messages), so a
 * question asked again in a similar conversation is a cache hit, while the
 * same words after a different exchange are not.
 */
@Injectable()
export class AssistantResponder {
  private readonly logger = new Logger(AssistantResponder.name);
  private assistantId: Promise<number> | undefined;

  constructor(
    private readonly ai: AiService,
    private readonly users: UsersService,
  ) {}

  /**
   * The assistant's answer to `messageBody` in room `roomId`.
   * `recentMessages`: the room's messages before this one, oldest first; the
   * assistant's own earlier replies among them are labelled as such.
   */
  async replyText(roomId: number, messageBody: string, recentMessages: RecentMessage[]): Promise<string> {
    const assistantId = await this.assistantUserId();
    const recent = recentMessages.slice(-ASSISTANT_CONTEXT_MESSAGES).map((m) => ({
      from: m.userId === assistantId ? 'assistant' : 'member',
      text: m.body.slice(0, CONTEXT_MESSAGE_CHARS),
    }));
    const query = messageBody.slice(0, MAX_QUERY_CHARS);
    const result = await this.ai.answer(query, { kind: 'chat-room', recent });
    this.logger.debug({ roomId, provider: result.provider, cached: result.cached }, 'assistant reply');
    return result.answer;
  }

  /** The id of the system user the replies come from, created on first use (safe when several processes race). */
  assistantUserId(): Promise<number> {
    // A unit that counts as having written reads the primary: a replica may not have the row another process just made.
    this.assistantId ??= runInRequestContext(() => this.ensureAssistant(), { wrote: true }).catch((err: unknown) => {
      this.assistantId = undefined;
      throw err;
    });
    return this.assistantId;
  }

  private async ensureAssistant(): Promise<number> {
    const existing = await this.users.findByEmailWithPassword(ASSISTANT_EMAIL);
    if (existing) return existing.id;
    try {
      // Nobody can log in as the assistant: the password is random and never kept.
      const created = await this.users.create({ email: ASSISTANT_EMAIL, name: ASSISTANT_NAME, password: randomBytes(32).toString('base64url') });
      return created.id;
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      const raced = await this.users.findByEmailWithPassword(ASSISTANT_EMAIL);
      if (!raced) throw err;
      return raced.id;
    }
  }
}
