import type { MessageMappingProperties } from '@nestjs/websockets';
import { WebSocketsController } from '@nestjs/websockets/web-sockets-controller';
import { installedVersion, PatchCheck } from './patch-check';

/**
 * @nestjs/websockets binds every gateway handler to every socket in
 * `WebSocketsController.prototype.subscribeMessages(handlers, client, gateway)`
 * (`callback.bind(gateway, client)`, then the adapter's bindMessageHandlers):
 * per socket three bound functions, three listener closures and their contexts,
 * kept for the socket's life. Patched: subscribeMessages hands the unbound
 * handlers to the app's adapter when it can share one listener per event among
 * all sockets (RealtimeIoAdapter.bindSharedMessageHandlers); other adapters get
 * Nest's own path. Also relied on: `this.config.getIoAdapter()` inside it.
 * Optional: when the method's shape differs, Nest's path runs with the public
 * bindMessageHandlers override.
 *
 * To remove: delete this file and its call; RealtimeIoAdapter.bindMessageHandlers stays.
 */
export const NEST_WEBSOCKETS_WRITTEN_FOR = '11.x (tested with 11.2.6)';

export interface SharedHandlerBinder {
  bindSharedMessageHandlers(client: unknown, handlers: MessageMappingProperties[], gateway: object): void;
}
type SubscribeMessages = (this: { config?: { getIoAdapter?(): unknown } }, handlers: MessageMappingProperties[], client: unknown, gateway: object) => void;
interface ControllerProto {
  subscribeMessages?: SubscribeMessages;
}
const PATCHED = Symbol('switchboard.sharedHandlers');

export function checkSubscribeMessages(proto: ControllerProto = WebSocketsController.prototype): PatchCheck {
  const fn = proto.subscribeMessages;
  const ok = typeof fn === 'function' && fn.length === 3;
  return {
    library: '@nestjs/websockets',
    patch: 'WebSocketsController.subscribeMessages',
    writtenFor: NEST_WEBSOCKETS_WRITTEN_FOR,
    installed: installedVersion('@nestjs/websockets'),
    ok,
    reason: ok ? undefined : typeof fn === 'function' ? `takes ${fn.length} arguments, not 3` : 'the method is gone',
  };
}

/** Routes subscribeMessages to the adapter when `takesOver(adapter)`; once per prototype. */
export function shareGatewayHandlers(takesOver: (adapter: unknown) => adapter is SharedHandlerBinder, proto: ControllerProto = WebSocketsController.prototype): void {
  const target = proto as ControllerProto & { [PATCHED]?: true };
  const original = target.subscribeMessages;
  if (target[PATCHED] || typeof original !== 'function') return;
  target[PATCHED] = true;
  target.subscribeMessages = function (this: { config?: { getIoAdapter?(): unknown } }, handlers, client, gateway) {
    const adapter = this.config?.getIoAdapter?.();
    if (takesOver(adapter)) adapter.bindSharedMessageHandlers(client, handlers, gateway);
    else original.call(this, handlers, client, gateway);
  };
}
