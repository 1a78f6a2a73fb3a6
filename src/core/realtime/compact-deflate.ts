import { dirname, join } from 'node:path';

// ws's per-message deflate class, the copy engine.io uses: not in ws's package exports, so by path.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const PerMessageDeflate = require(join(dirname(require.resolve('ws', { paths: [dirname(require.resolve('engine.io'))] })), 'lib', 'permessage-deflate.js')) as { prototype: DeflateProto };

interface DeflateProto {
  accept(offers: unknown): Record<string, unknown>;
  params: Record<string, unknown> | null;
}

/**
 * Per-message deflate with small zlib windows and no context takeover: ws's
 * defaults (32 KB windows kept per connection) cost about 250 KB of RSS per
 * socket here (bench/RESULTS.md); small windows keep compression for large
 * payloads at a few KB.
 *
 * `isServer` and `maxPayload` are listed although ws sets both itself: ws
 * copies these options per connection as `{ ...options, isServer, maxPayload }`,
 * and once that line is optimized V8 gives every copy a hidden class of its own
 * when the two keys are new to it (about 0.4 KB per socket, bench/RESULTS.md).
 * Present already, they are overwritten in place with the same values.
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

const shared = new Map<string, Readonly<Record<string, unknown>>>();
let patched = false;

/**
 * The parameters a connection negotiated are a dictionary-mode object per
 * socket (about 0.3 KB); with our options they take one of a handful of
 * values, which ws only reads after the handshake. Each connection gets the
 * one frozen object for its values instead. Patched once per process.
 */
export function shareNegotiatedDeflateParams(): void {
  if (patched) return;
  patched = true;
  const proto = PerMessageDeflate.prototype;
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
}
