/** What the chat routes and events return. Ids are JSON numbers on every transport (bigint columns stay far below 2^53). */
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
