import { ConnectedSocket, MessageBody, OnGatewayConnection, OnGatewayInit, SubscribeMessage } from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { SocketConnections } from './socket-connections';

/**
 * What every namespace does (SPEC §5): limits, handshake auth and the auth
 * deadline on connect, `authenticate`, `subscribe`, `unsubscribe`. A
 * namespace's gateway extends this and adds its own events; Nest finds the
 * inherited handlers on the prototype chain.
 */
export abstract class NamespaceGateway implements OnGatewayInit, OnGatewayConnection {
  constructor(protected readonly connections: SocketConnections) {}

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
}
