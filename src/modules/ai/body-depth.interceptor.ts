import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Request } from 'express';
import type { Observable } from 'rxjs';
import { BadRequestError } from '../../core/errors/domain-error';
import { jsonDepth, MAX_CONTEXT_DEPTH } from './dto/complete.dto';

/**
 * Rejects absurdly nested JSON bodies before the ValidationPipe sees them:
 * class-transformer recurses into every nested value and a 50 000-deep array
 * (well within the 1 MB body limit) overflows the stack, a 500. Interceptors
 * run before pipes, so this answers 400 instead.
 */
@Injectable()
export class BodyDepthInterceptor implements NestInterceptor {
  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const body = ctx.switchToHttp().getRequest<Request>().body as unknown;
    // The body object, its `context` and what the context may hold.
    if (jsonDepth(body, MAX_CONTEXT_DEPTH + 1) > MAX_CONTEXT_DEPTH + 1) {
      throw new BadRequestError(`context must be nested at most ${MAX_CONTEXT_DEPTH} deep`);
    }
    return next.handle();
  }
}
