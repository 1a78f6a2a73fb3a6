import { ConnectedSocket, MessageBody, OnGatewayConnection, OnGatewayInit, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { chatRoom } from '../../core/realtime/realtime.contract';
import { parsePayload, SocketConnections } from '../../core/realtime/socket-connections';
import { messageSendPayload, roomJoinPayload, typingPayload } from './chat.events';
import { ChatService } from './chat.service';

/** Inbound chat events. Outbound delivery (`message:new`, `typing`) goes through RealtimeService. */
@WebSocketGateway({ namespace: 'chat' })
export class ChatGateway implements OnGatewayInit, OnGatewayConnection {
  constructor(
    private readonly connections: SocketConnections,
    private readonly chat: ChatService,
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

  @SubscribeMessage('room:join')
  join(@ConnectedSocket() socket: Socket, @MessageBody() data: unknown) {
    return this.connections.handle(socket, 'room:join', 'rooms', async (user) => {
      const { roomId } = parsePayload(roomJoinPayload, data);
      await this.chat.assertMember(user.id, roomId);
      await this.connections.join(socket, user, chatRoom(roomId));
      return { roomId };
    });
  }

  @SubscribeMessage('message:send')
  send(@ConnectedSocket() socket: Socket, @MessageBody() data: unknown) {
    return this.connections.handle(socket, 'message:send', 'message', async (user) => {
      const { roomId, body } = parsePayload(messageSendPayload, data);
      return { message: await this.chat.send(user.id, roomId, body) };
    });
  }

  @SubscribeMessage('typing')
  typing(@ConnectedSocket() socket: Socket, @MessageBody() data: unknown) {
    return this.connections.handle(socket, 'typing', 'typing', async (user) => {
      const { roomId } = parsePayload(typingPayload, data);
      await this.chat.typing(user.id, roomId);
      return { roomId };
    });
  }
}
