import { z } from 'zod';
import { MAX_MESSAGE_LENGTH } from './dto/chat.dto';

/** Payloads of the /chat client events (validated; anything else is bad_request). */
export const roomJoinPayload = z.object({ roomId: z.number().int().positive() }).strict();
export const messageSendPayload = z.object({ roomId: z.number().int().positive(), body: z.string().trim().min(1).max(MAX_MESSAGE_LENGTH) }).strict();
export const typingPayload = z.object({ roomId: z.number().int().positive() }).strict();

export interface MessageView {
  id: string;
  roomId: number;
  userId: number;
  body: string;
  createdAt: string;
}

export interface RoomView {
  id: number;
  name: string | null;
  createdBy: number;
  assistant: boolean;
  memberIds: number[];
  createdAt: string;
}
