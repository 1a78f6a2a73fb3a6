import { Module } from '@nestjs/common';
import { AiModule } from '../ai/ai.module';
import { ChatServiceModule } from '../chat/chat.module';
import { AssistantReplies, AssistantReplyJobHandler } from './assistant-replies';

/** In the api (dispatches replies) and in the worker (runs them): the same module graph in both. */
@Module({
  imports: [ChatServiceModule, AiModule],
  providers: [AssistantReplies, AssistantReplyJobHandler],
})
export class AssistantModule {}
