import { dirname } from 'node:path';
import { installedVersion, PatchCheck } from './patch-check';

/**
 * ws's per-message deflate, the copy engine.io uses (ws exports the class, undocumented, as
 * `PerMessageDeflate`).
 *
 * Patched: `PerMessageDeflate.prototype.accept(offers)`. The parameters a connection negotiated
 * are a dictionary-mode object per socket (about 0.3 KB); with our options (compactDeflate) they
 * take one of a handful of values, which ws only reads after the handshake. Each connection gets
 * the one frozen object for its values instead (`this.params`). Optional: when the shape differs
 * (accept's arity, the `params` field), ws keeps its own per-socket objects.
 *
 * To remove: accept ws's per-socket params (delete shareNegotiatedDeflateParams and its call).
 */
export const WS_WRITTEN_FOR = '8.x (tested with 8.21)';

interface DeflateProto {
  accept(offers: unknown): Record<string, unknown>;
  params: Record<string, unknown> | null;
}
type DeflateClass = { prototype: DeflateProto; new (options: object, isServer: boolean, maxPayload: number): DeflateProto };

/** Where engine.io resolves ws from: that copy's classes are the ones its transport uses. */
const ENGINE_IO_DIR = dirname(require.resolve('engine.io'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ws = require(require.resolve('ws', { paths: [ENGINE_IO_DIR] })) as { PerMessageDeflate?: DeflateClass; Sender?: unknown };

export const wsVersion = () => installedVersion('ws', ENGINE_IO_DIR);

/**
 * Per-message deflate with small zlib windows and no context takeover: ws's defaults (32 KB
 * windows kept per connection) cost about 250 KB of RSS per socket here (bench/RESULTS.md); small
 * windows keep compression for large payloads at a few KB.
 *
 * `isServer` and `maxPayload` are listed although ws sets both itself: ws copies these options per
 * connection as `{ ...options, isServer, maxPayload }`, and once that line is optimized V8 gives
 * every copy a hidden class of its own when the two keys are new to it (about 0.4 KB per socket,
 * bench/RESULTS.md). Present already, they are overwritten in place with the same values.
 */
export function compactDeflate(threshold: number, maxPayload: number) {
  return {
    threshold,
    serverNoContextTakeover: true,
    clientNoContextTakeover: true,
    serverMaxWindowBits: 10,
    clientMaxWindowBits: 10,
    zlibDeflateOptions: { memLevel: 4 },
    isServer: true,
    maxPayload,
  };
}

/** What a client offers (ws's parsed Sec-WebSocket-Extensions: each value a list); fresh each time, ws normalises it in place. */
const probeOffer = () => [{ client_max_window_bits: [true] }];

/** The shape the patch needs: accept(offers) on the prototype, and the result kept in `this.params`. */
export function checkDeflateAccept(cls: DeflateClass | null | undefined = ws.PerMessageDeflate): PatchCheck {
  const base = { library: 'ws', patch: 'PerMessageDeflate.accept', writtenFor: WS_WRITTEN_FOR, installed: wsVersion() };
  let reason: string | undefined;
  if (typeof cls?.prototype?.accept !== 'function') reason = 'ws no longer exports PerMessageDeflate with accept()';
  else if (cls.prototype.accept.length !== 1) reason = `accept takes ${cls.prototype.accept.length} arguments, not 1`;
  else {
    try {
      const probe = new cls(compactDeflate(1024, 1024), true, 1024);
      const params = probe.accept(probeOffer());
      if (probe.params !== params || typeof params !== 'object') reason = 'accept() no longer keeps what it negotiated in this.params';
    } catch (err) {
      reason = `accept() failed on a plain offer (${(err as Error).message})`;
    }
  }
  return { ...base, ok: !reason, reason };
}

const shared = new Map<string, Readonly<Record<string, unknown>>>();
const patched = new WeakSet<object>();

/** Shares one frozen params object per negotiated value set; once per class. False when not applied. */
export function shareNegotiatedDeflateParams(cls: DeflateClass | undefined = ws.PerMessageDeflate): boolean {
  if (!cls || patched.has(cls.prototype)) return !!cls;
  patched.add(cls.prototype);
  const proto = cls.prototype;
  const accept = proto.accept;
  proto.accept = function (this: DeflateProto, offers: unknown) {
    const params = accept.call(this, offers);
    const key = Object.keys(params)
      .sort()
      .map((k) => `${k}=${String(params[k])}`)
      .join(';');
    let one = shared.get(key);
    if (!one) {
      one = Object.freeze({ ...params });
      if (shared.size < 64) shared.set(key, one); // a client can only pick among a few values; bounded anyway
    }
    this.params = one;
    return one;
  };
  return true;
}

export { ws as engineIoWs, probeOffer };
