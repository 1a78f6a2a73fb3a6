import 'reflect-metadata';
import type { MessageMappingProperties } from '@nestjs/websockets';
import { checkSubscribeMessages, shareGatewayHandlers, SharedHandlerBinder } from './nest-websockets';

describe('core/patches/nest-websockets', () => {
  it('finds WebSocketsController.subscribeMessages(handlers, client, gateway) in the installed @nestjs/websockets', () => {
    const check = checkSubscribeMessages();
    expect(check.installed).toMatch(/^11\./);
    expect(check).toMatchObject({ library: '@nestjs/websockets', ok: true });
  });

  it('says what changed when the method is gone or takes other arguments', () => {
    expect(checkSubscribeMessages({})).toMatchObject({ ok: false, reason: 'the method is gone' });
    expect(checkSubscribeMessages({ subscribeMessages: (_h: unknown) => undefined })).toMatchObject({ ok: false, reason: 'takes 1 arguments, not 3' });
  });

  it("hands the unbound handlers to an adapter that shares them, and leaves other apps on Nest's path", () => {
    const calls: string[] = [];
    const proto = {
      subscribeMessages(this: { config: { getIoAdapter(): unknown } }, _handlers: MessageMappingProperties[], _client: unknown, _gateway: object) {
        calls.push('nest');
      },
    };
    const ours: SharedHandlerBinder = { bindSharedMessageHandlers: () => void calls.push('shared') };
    shareGatewayHandlers((adapter): adapter is SharedHandlerBinder => adapter === ours, proto as never);
    shareGatewayHandlers((_adapter): _adapter is SharedHandlerBinder => false, proto as never); // patched once only
    proto.subscribeMessages.call({ config: { getIoAdapter: () => ours } }, [], {}, {});
    proto.subscribeMessages.call({ config: { getIoAdapter: () => ({}) } }, [], {}, {});
    expect(calls).toEqual(['shared', 'nest']);
  });
});
