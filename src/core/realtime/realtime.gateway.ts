import { ConnectedSocket, MessageBody, OnGatewayConnection, OnGatewayInit, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { SocketConnections } from './socket-connections';

/** `/realtime`: jobs, analyses, system events. Inbound: authenticate, subscribe, unsubscribe. */
@WebSocketGateway({ namespace: 'realtime' })
export class RealtimeGateway implements OnGatewayInit, OnGatewayConnection {
  constructor(private readonly connections: SocketConnections) {}

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
