import { Injectable } from '@nestjs/common';
import { BadRequestError, UnauthorizedError } from '../errors/domain-error';
import { Authenticator } from '../session/authenticator';
import { principalCredential } from '../session/credential-tag';
import type { Principal } from '../session/principal';
import { parsePayload } from '../validation/dto-validation';
import { AuthDeadline } from './auth-deadline';
import { AuthenticateDto } from './dto';
import { EventLog } from './event-log';
import { socketPrincipal } from './socket-admission';
import { SocketLogout } from './socket-logout';
import { SocketRooms } from './socket-rooms';
import type { AppSocket } from './socket-state';

/**
 * Who a new socket is. One that authenticated in the handshake
 * (SocketAdmission) gets its rooms and `authenticated` at once; one that did
 * not gets `connected` and AUTH_TIMEOUT_MS (AuthDeadline) to send
 * `authenticate {token}`.
 */
@Injectable()
export class SocketAuthentication {
  constructor(
    private readonly authenticator: Authenticator,
    private readonly log: EventLog,
    private readonly deadline: AuthDeadline,
    private readonly rooms: SocketRooms,
    private readonly logout: SocketLogout,
  ) {}

  /**
   * Authenticated in the handshake. `offset` was read with the cluster slot
   * (before any room is joined: an older offset can only replay more);
   * `revocationMark` was taken before the credential was checked.
   */
  async welcome(socket: AppSocket, principal: Principal, offset: string | undefined, revocationMark: number | undefined): Promise<void> {
    const from = offset ?? (await this.log.offsetForNewSocket());
    this.rooms.joinBase(socket, principal);
    if (this.logout.endIfEndedSince(socket, principal, revocationMark)) return;
    socket.emit('connected', { socketId: socket.id, recovered: false }, String(from));
    socket.emit('authenticated', { userId: principal.id });
    await this.rooms.save(socket, true);
  }

  /** No credential in the handshake: the socket has until the deadline to send `authenticate`. */
  awaitToken(socket: AppSocket): void {
    socket.emit('connected', { socketId: socket.id, recovered: false });
    this.deadline.start(socket);
  }

  /** `authenticate {token}` (run by ClientEventRunner): a refused token changes nothing. */
  async authenticate(socket: AppSocket, data: unknown): Promise<{ userId: number }> {
    const { token, userId } = parsePayload(AuthenticateDto, data);
    const mark = this.logout.mark();
    const principal = await this.authenticator.fromToken(token);
    if (!principal) throw new UnauthorizedError('Invalid or expired token');
    if (userId !== undefined && Number(userId) !== principal.id) throw new UnauthorizedError('userId does not match the token');
    if (socket.data.principal && socket.data.principal.id !== principal.id) throw new BadRequestError('This socket is already authenticated as another user');
    socket.data.principal = socketPrincipal(principal);
    socket.data.credential = principalCredential(principal, undefined);
    this.deadline.clear(socket);
    this.rooms.joinBase(socket, principal);
    if (this.logout.endIfEndedSince(socket, principal, mark)) throw new UnauthorizedError('Invalid or expired token');
    await this.rooms.save(socket);
    socket.emit('authenticated', { userId: principal.id });
    return { userId: principal.id };
  }

  /** The socket disconnected: its deadline, if it had one, ends. */
  disconnected(socket: AppSocket): void {
    this.deadline.clear(socket);
  }
}
