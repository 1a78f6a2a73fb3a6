import { Logger, Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { NextFunction, Request, Response } from 'express';
import { ForbiddenError, UnauthorizedError } from '../errors/domain-error';
import { sendError } from '../errors/http-exception.filter';
import { Authenticator } from '../session/authenticator';
import { QueueRegistry } from './queue-registry';

export const QUEUE_BOARD_PATH = '/admin/queues';

/**
 * Bull Board at /admin/queues (api process only). It is a plain express
 * router, outside Nest's global AuthGuard, so it is guarded here with the
 * same Authenticator: 401 without credentials, 403 for non-admins.
 */
@Module({})
export class QueueBoardModule implements OnModuleInit {
  private readonly logger = new Logger('QueueBoard');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly registry: QueueRegistry,
    private readonly authenticator: Authenticator,
  ) {}

  onModuleInit(): void {
    const server = new ExpressAdapter();
    server.setBasePath(QUEUE_BOARD_PATH);
    // @bull-board/express 9.10.1 bundles its own @bull-board/api typings: same shape, separate declarations.
    const serverAdapter = server as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'];
    createBullBoard({ queues: this.registry.names.map((n) => new BullMQAdapter(this.registry.get(n))), serverAdapter });
    const adminOnly = (req: Request, res: Response, next: NextFunction) => {
      this.authenticator
        .fromRequest(req)
        .then((principal) => {
          if (!principal) throw new UnauthorizedError();
          if (principal.role !== 'admin') throw new ForbiddenError('This needs the admin role');
          next();
        })
        .catch((err: unknown) => sendError(res, err, this.logger, req));
    };
    const app = this.adapterHost.httpAdapter.getInstance<import('express').Express>();
    app.use(QUEUE_BOARD_PATH, adminOnly, server.getRouter() as import('express').Router);
  }
}
