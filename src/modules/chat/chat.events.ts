import { z } from 'zod';
import { CLIENT_MESSAGE_ID, MAX_CLIENT_MESSAGE_ID_LENGTH } from './client-message-id';
import { MAX_MESSAGE_LENGTH } from './dto/chat.dto';

/** Payloads of the /chat client events (validated; anything else is bad_request). */
export const roomJoinPayload = z.object({ roomId: z.number().int().positive() }).strict();
/** `clientMessageId`: resending with the same one returns the message already stored (ChatService.send). */
export const messageSendPayload = z
  .object({
    roomId: z.number().int().positive(),
    body: z.string().trim().min(1).max(MAX_MESSAGE_LENGTH),
    clientMessageId: z.string().max(MAX_CLIENT_MESSAGE_ID_LENGTH).regex(CLIENT_MESSAGE_ID).optional(),
  })
  .strict();
export const typingPayload = z.object({ roomId: z.number().int().positive() }).strict();

/** Ids are JSON numbers on every transport (bigint columns stay far below 2^53). */
export interface MessageView {
  id: number;
  roomId: number;
  userId: number;
  body: string;
  createdAt: string;
}

/** What a send answers: the stored message, and whether an earlier send with the same clientMessageId stored it. */
export interface SentMessage {
  message: MessageView;
  replayed: boolean;
}

export interface RoomView {
  id: number;
  name: string | null;
  createdBy: number;
  assistant: boolean;
  memberIds: number[];
  createdAt: string;
}
