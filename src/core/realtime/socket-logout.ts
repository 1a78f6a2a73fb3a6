import { Injectable } from '@nestjs/common';
import type { Socket } from 'socket.io';
import type { Principal } from '../session/principal';
import { RecentRevocations } from './recent-revocations';
import type { AppSocket } from './socket-state';

/**
 * A logout (or a revoked token) reaching sockets: the credential each socket
 * authenticated with, ending one, and the race of a logout heard while a
 * socket was being set up (AccessRevocations ends the sockets it finds in the
 * user's room; this ends the ones that were not in it yet).
 */
@Injectable()
export class SocketLogout {
  constructor(private readonly revocations: RecentRevocations) {}

  /** Taken before a credential is checked: `endIfEndedSince` compares against it. */
  mark(): number {
    return this.revocations.mark();
  }

  /** The credential the socket authenticated with (credentialTag). */
  credentialOf(socket: Socket): number | undefined {
    return (socket as AppSocket).data.credential;
  }

  /** The socket is told why, then disconnected (a client does not reconnect after a server disconnect). */
  end(socket: Socket): void {
    socket.emit('error', { code: 'session_ended', message: 'The session or token this connection used has ended' });
    socket.disconnect(true);
  }

  /**
   * A logout heard after the credential was checked (`mark`) and before the
   * socket joined its user room (where AccessRevocations looks) missed it: the
   * socket is ended here. True when it was.
   */
  endIfEndedSince(socket: AppSocket, principal: Principal, mark: number | undefined): boolean {
    if (mark === undefined || !this.revocations.endedSince(principal.id, socket.data.credential, mark)) return false;
    this.end(socket);
    return true;
  }
}
