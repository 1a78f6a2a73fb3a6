import { z } from 'zod';
import { MAX_MESSAGE_LENGTH } from './dto/chat.dto';

/** Payloads of the /chat client events (validated; anything else is bad_request). */
export const roomJoinPayload = z.object({ roomId: z.number().int().positive() }).strict();
export const messageSendPayload = z.object({ roomId: z.number().int().positive(), body: z.string().trim().min(1).max(MAX_MESSAGE_LENGTH) }).strict();
export const typingPayload = z.object({ roomId: z.number().int().positive() }).strict();

/** Ids are JSON numbers on every transport (bigint columns stay far below 2^53). */
export interface MessageView {
  id: number;
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
