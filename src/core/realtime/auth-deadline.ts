import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import type { AppSocket } from './socket-state';

/**
 * A socket that connected without a credential has AUTH_TIMEOUT_MS to send
 * `authenticate` (SPEC §5); then it is told why and disconnected. The timer
 * sits in `socket.data`: only unauthenticated sockets carry one.
 */
@Injectable()
export class AuthDeadline {
  constructor(private readonly config: AppConfig) {}

  start(socket: AppSocket): void {
    socket.data.authTimer = setTimeout(() => this.expire(socket), this.config.realtime.authTimeoutMs);
  }

  /** Authenticated, or gone: the timer would only keep the socket in memory. */
  clear(socket: AppSocket): void {
    clearTimeout(socket.data.authTimer);
  }

  private expire(socket: AppSocket): void {
    if (socket.data.principal || !socket.connected) return;
    socket.emit('error', { code: 'auth_timeout', message: `Not authenticated within ${this.config.realtime.authTimeoutMs} ms` });
    socket.disconnect(true);
  }
}
