import { DynamicModule, MiddlewareConsumer, Module, NestModule, ValidationPipe } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { AppConfig } from '../config/app-config';
import { ConfigModule } from '../config/config.module';
import { DatabaseModule } from '../core/database/database.module';
import { HttpErrorFilter } from '../core/errors/http-exception.filter';
import { HealthModule } from '../core/health/health.module';
import { WriteThrottleGuard } from '../core/http/write-throttle.guard';
import { LoggingModule } from '../core/logging/logging.module';
import { MetricsModule } from '../core/metrics/metrics.module';
import { MaintenanceModule } from '../core/maintenance/maintenance.module';
import { OpsModule } from '../core/ops/ops.module';
import { RealtimeConnectionStats } from '../core/ops/realtime-connection-stats';
import { QueueBoardModule } from '../core/queue/queue-board.module';
import { QueueModule } from '../core/queue/queue.module';
import { RealtimeModule } from '../core/realtime/realtime.module';
import { RedisModule } from '../core/redis/redis.module';
import { AuthGuard } from '../core/session/auth.guard';
import { SessionModule } from '../core/session/session.module';
import { VALIDATION_OPTIONS } from '../core/validation/dto-validation';
import { browserPagesRedirect, BROWSER_PAGES } from '../core/ops/browser-login';
import { AiModule } from '../modules/ai/ai.module';
import { AssistantModule } from '../modules/assistant/assistant.module';
import { AnalysesModule } from '../modules/analyses/analyses.module';
import { AuthModule } from '../modules/auth/auth.module';
import { ChatModule } from '../modules/chat/chat.module';
import { NotificationsModule } from '../modules/notifications/notifications.module';
import { ProjectsModule } from '../modules/projects/projects.module';
import { RequestPipeline } from './http-setup';

/** Shared by every process: config, logs, Redis, the database, authentication. */
export function coreImports(config: AppConfig, opts: { logToStderr?: boolean } = {}) {
  return [ConfigModule.forRoot(config), LoggingModule.forRoot({ toStderr: opts.logToStderr }), RedisModule, DatabaseModule, SessionModule];
}

/** HTTP bodies, queries and params; socket payloads use the same options and DTOs (parsePayload). */
export const validationPipe = new ValidationPipe({ ...VALIDATION_OPTIONS, transform: true });

/** The api process: HTTP (REST, SSE, /up, /metrics) and Socket.IO. Never consumes jobs. */
@Module({})
export class ApiModule implements NestModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        ...coreImports(config),
        MetricsModule.forApi(),
        HealthModule,
        RealtimeModule.forApi(),
        MaintenanceModule,
        QueueModule,
        QueueBoardModule,
        OpsModule.register({ connections: RealtimeConnectionStats }),
        AuthModule,
        ProjectsModule,
        AnalysesModule,
        ChatModule,
        NotificationsModule,
        AiModule,
        AssistantModule,
      ],
      providers: [
        { provide: APP_PIPE, useValue: validationPipe },
        { provide: APP_FILTER, useClass: HttpErrorFilter },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_GUARD, useClass: WriteThrottleGuard },
      ],
    };
  }

  /**
   * Every route goes through the request pipeline (request id, CORS, body, session, the caller for
   * the AuthGuard, the unit of work); browsers without a session are sent to /login from the pages
   * they open (after the pipeline has resolved the caller). Mounted at "/" with Express use(), so
   * req.url is left as it is.
   */
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RequestPipeline).forRoutes('/');
    consumer.apply(browserPagesRedirect).forRoutes(...BROWSER_PAGES);
  }
}
