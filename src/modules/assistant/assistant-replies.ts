import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { QueueRegistry } from '../../core/queue/queue-registry';
import { JobHandlers } from '../../core/queue/job-handlers';
import { ASSISTANT_CONTEXT_MESSAGES, ASSISTANT_REPLY_JOB, AssistantReplyJob, AssistantResponder } from '../ai/assistant-responder';
import { MessageView } from '../chat/chat.views';
import { ChatService } from '../chat/chat.service';

/** The queue that answers assistant rooms: replies are user-facing, so they go ahead of background work. */
export const ASSISTANT_QUEUE = 'high';

/**
 * Assistant rooms (SPEC §9): a member message in a room created with
 * `assistant: true` dispatches a `high` job; the worker asks the AI module
 * and posts the answer as the assistant user, delivered as `message:new`.
 * One job per message (jobId from the message id), so a retried send or a
 * retried job never answers twice.
 */
@Injectable()
export class AssistantReplies implements OnModuleInit {
  private readonly logger = new Logger(AssistantReplies.name);

  constructor(
    private readonly chat: ChatService,
    private readonly responder: AssistantResponder,
    private readonly queues: QueueRegistry,
    private readonly handlers: JobHandlers,
  ) {}

  onModuleInit(): void {
    this.chat.onMemberMessage((room, message) => this.onMessage(room, message));
    this.handlers.register<AssistantReplyJob, { messageId: number }>(ASSISTANT_REPLY_JOB, {
      run: async (job) => ({ messageId: (await this.reply(job.data)).id }),
    });
  }

  private async onMessage(room: { id: number; assistant: boolean }, message: MessageView): Promise<void> {
    if (!room.assistant || message.userId === (await this.responder.assistantUserId())) return;
    const data: AssistantReplyJob = { roomId: room.id, messageId: message.id, authorId: message.userId, body: message.body };
    // BullMQ refuses ':' in custom ids.
    await this.queues.dispatch(ASSISTANT_QUEUE, ASSISTANT_REPLY_JOB, data, { jobId: `assistant-reply-${message.id}`, ownerId: message.userId });
  }

  /** Runs in the worker, inside the job's unit of work. AiUnavailableError propagates: BullMQ retries with backoff. */
  async reply(job: AssistantReplyJob): Promise<MessageView> {
    const recent = await this.chat.recentBefore(job.roomId, job.messageId, ASSISTANT_CONTEXT_MESSAGES);
    const text = await this.responder.replyText(job.roomId, job.body, recent);
    const assistantId = await this.responder.assistantUserId();
    await this.chat.ensureMember(job.roomId, assistantId);
    const posted = await this.chat.post(assistantId, job.roomId, text);
    this.logger.log({ roomId: job.roomId, inReplyTo: job.messageId, messageId: posted.id }, 'assistant replied');
    return posted;
  }
}
