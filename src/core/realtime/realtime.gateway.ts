import { WebSocketGateway } from '@nestjs/websockets';
import { NamespaceGateway } from './namespace.gateway';
import { SocketConnections } from './socket-connections';

/** `/realtime`: jobs, analyses, system events. Inbound: authenticate, subscribe, unsubscribe. */
@WebSocketGateway({ namespace: 'realtime' })
export class RealtimeGateway extends NamespaceGateway {
  constructor(connections: SocketConnections) {
    super(connections);
  }
}
