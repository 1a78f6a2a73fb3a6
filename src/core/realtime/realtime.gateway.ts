import { WebSocketGateway } from '@nestjs/websockets';
import type { Namespace, Server } from 'socket.io';
import { NamespaceEvents } from './event-routing';
import { NamespaceGateway } from './namespace.gateway';
import { SocketConnections } from './socket-connections';

/** `/realtime`: every event no feature namespace claims (jobs, analyses), and system events. Inbound: authenticate, subscribe, unsubscribe. */
@WebSocketGateway({ namespace: 'realtime' })
@NamespaceEvents({ namespace: '/realtime', events: ['*'] })
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
@NamespaceEvents({ namespace: '/', events: ['*'] })
export class DefaultNamespaceGateway extends NamespaceGateway {
  constructor(connections: SocketConnections) {
    super(connections);
  }

  /**
   * Without a namespace Nest hands over the Server itself; the limits and hub
   * work on its main namespace. Duck-typed: @nestjs/platform-socket.io may
   * bring its own copy of socket.io, so `instanceof Server` can be false.
   */
  override afterInit(server: Namespace | Server): void {
    super.afterInit(typeof (server as Server).of === 'function' ? (server as Server).of('/') : (server as Namespace));
  }
}
