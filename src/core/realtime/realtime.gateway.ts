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

/**
 * The default namespace `/` with the `/realtime` contract: seed 003's clients
 * call `io('http://host:3000')` without a namespace and expect job, analysis
 * and system events there.
 */
@WebSocketGateway()
export class DefaultNamespaceGateway extends NamespaceGateway {
  constructor(connections: SocketConnections) {
    super(connections);
  }
}
