import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { AiResponseCache } from './ai.cache';
import { AiController } from './ai.controller';
import { AiService } from './ai.service';
import { AssistantResponder } from './assistant-responder';

/** SPEC §9: AI answers with failover, a Redis response cache, coalescing and a concurrency cap. */
@Module({
  imports: [AuthModule],
  controllers: [AiController],
  providers: [AiService, AiResponseCache, AssistantResponder],
  exports: [AiService, AssistantResponder],
})
export class AiModule {}
