import { ConnectedSocket, MessageBody, OnGatewayConnection, OnGatewayInit, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { SocketConnections } from '../../core/realtime/socket-connections';
import { NotificationsService } from './notifications.service';

/** `/notifications`: `notification:new` and `notification:unread-count` arrive on the user's own room. */
@WebSocketGateway({ namespace: 'notifications' })
export class NotificationsGateway implements OnGatewayInit, OnGatewayConnection {
  constructor(
    private readonly connections: SocketConnections,
    private readonly notifications: NotificationsService,
  ) {}

  afterInit(nsp: Namespace): void {
    this.connections.attach(nsp);
  }

  handleConnection(socket: Socket): Promise<void> {
    return this.connections.onConnection(socket);
  }

  @SubscribeMessage('authenticate')
  authenticate(@ConnectedSocket() socket: Socket, @MessageBody() data: unknown) {
    return this.connections.authenticate(socket, data);
  }

  @SubscribeMessage('subscribe')
  subscribe(@ConnectedSocket() socket: Socket, @MessageBody() data: unknown) {
    return this.connections.subscribe(socket, data);
  }

  @SubscribeMessage('unsubscribe')
  unsubscribe(@ConnectedSocket() socket: Socket, @MessageBody() data: unknown) {
    return this.connections.unsubscribe(socket, data);
  }

  /** The current count, answered in the ack. */
  @SubscribeMessage('notification:unread-count')
  unreadCount(@ConnectedSocket() socket: Socket) {
    return this.connections.handle(socket, 'notification:unread-count', 'rooms', (user) => this.notifications.unreadCount(user.id));
  }
}
