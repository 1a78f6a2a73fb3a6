import 'reflect-metadata';
import { buildAsyncApi } from './asyncapi';

describe('buildAsyncApi', () => {
  it('serves the /realtime contract on the default namespace too', () => {
    const doc = buildAsyncApi() as { channels: Record<string, { address: string; messages: object }> };
    expect(Object.keys(doc.channels.root.messages).length).toBe(Object.keys(doc.channels.realtime.messages).length);
  });

  it('describes inbound events with the DTOs the gateways validate with', () => {
    const doc = buildAsyncApi() as { components: { messages: Record<string, { payload: { properties?: object; additionalProperties?: boolean } }> } };
    expect(doc.components.messages.chat_in_message_send.payload).toMatchObject({ additionalProperties: false, properties: { roomId: { type: 'integer' }, body: { maxLength: 4000 } } });
    expect(doc.components.messages.realtime_in_subscribe.payload).toMatchObject({ properties: { room: { type: 'string', maxLength: 200 } } });
  });
});
