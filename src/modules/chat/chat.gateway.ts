import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import type { Socket } from 'socket.io';
import { NamespaceGateway } from '../../core/realtime/namespace.gateway';
import { NamespaceEvents } from '../../core/realtime/event-routing';
import { SocketConnections } from '../../core/realtime/socket-connections';
import { parsePayload } from '../../core/validation/dto-validation';
import { ChatRoomRefDto, SendMessagePayload } from './dto/chat.dto';
import { chatRoom, typistRoom } from './chat-rooms';
import { ChatService } from './chat.service';

/** Inbound chat events. Outbound delivery (`message:new`, `typing`) goes through RealtimeService. */
@WebSocketGateway({ namespace: 'chat' })
@NamespaceEvents({ namespace: '/chat', events: ['message:*', 'typing', 'room:*'], skipRoom: typistRoom })
export class ChatGateway extends NamespaceGateway {
  constructor(
    connections: SocketConnections,
    private readonly chat: ChatService,
  ) {
    super(connections);
  }

  @SubscribeMessage('room:join')
  join(@ConnectedSocket() socket: Socket, @MessageBody() data: unknown) {
    return this.connections.handle(socket, 'room:join', 'rooms', async (user) => {
      const { roomId } = parsePayload(ChatRoomRefDto, data);
      await this.chat.assertMember(user.id, roomId);
      await this.connections.join(socket, user, chatRoom(roomId));
      return { roomId };
    });
  }

  @SubscribeMessage('message:send')
  send(@ConnectedSocket() socket: Socket, @MessageBody() data: unknown) {
    return this.connections.handle(socket, 'message:send', 'message', async (user) => {
      const { roomId, body, clientMessageId } = parsePayload(SendMessagePayload, data);
      const sent = await this.chat.send(user.id, roomId, body, clientMessageId);
      return sent.replayed ? { message: sent.message, replayed: true } : { message: sent.message };
    });
  }

  @SubscribeMessage('typing')
  typing(@ConnectedSocket() socket: Socket, @MessageBody() data: unknown) {
    return this.connections.handle(socket, 'typing', 'typing', async (user) => {
      const { roomId } = parsePayload(ChatRoomRefDto, data);
      await this.chat.typing(user.id, roomId);
      return { roomId };
    });
  }
}
