/** What the chat routes and events return. Ids are JSON numbers on every transport (bigint columns stay far below 2^53). */
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
