import { ConnectedSocket, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import type { Socket } from 'socket.io';
import { NamespaceEvents } from '../../core/realtime/event-routing';
import { NamespaceGateway } from '../../core/realtime/namespace.gateway';
import { SocketConnections } from '../../core/realtime/socket-connections';
import { NotificationsService } from './notifications.service';

/** `/notifications`: `notification:new` and `notification:unread-count` arrive on the user's own room. */
@WebSocketGateway({ namespace: 'notifications' })
@NamespaceEvents({ namespace: '/notifications', events: ['notification:*'] })
export class NotificationsGateway extends NamespaceGateway {
  constructor(
    connections: SocketConnections,
    private readonly notifications: NotificationsService,
  ) {
    super(connections);
  }

  /** The current count, answered in the ack. */
  @SubscribeMessage('notification:unread-count')
  unreadCount(@ConnectedSocket() socket: Socket) {
    return this.connections.handle(socket, 'notification:unread-count', 'rooms', (user) => this.notifications.unreadCount(user.id));
  }
}
