// Receivers for bench/realtime/run.js part (c), in a child process of their own so that the load
// client is not the bottleneck. Forked with IPC; loopback only; bounded in count and time.
//
//   argv: JSON {urls: [...], count, first, token, total, hardStopMs, slow, stallMs}
//   → 'ready' once every receiver is connected (or {error})
//   ← 'start' (publishing starts: the first `slow` receivers stop reading for stallMs)
//   ← 'count' → {count}
//   ← 'report' → {receivers: [...], hist: [[ms, n], ...]} then exits
//
// A minimal Socket.IO 4 client on `ws` (engine.io v4 over websocket only), doing what socket.io-client
// does that matters here, at a fraction of its CPU per message: the namespace CONNECT with auth, pong,
// the recovery offset (last string argument of every event) and reconnection with {pid, offset} after
// a disconnect (which is how a shed socket gets its missed events back, or `recovered: false`).
const WebSocket = require('ws');

const cfg = JSON.parse(process.argv[2]);
const NSP = '/realtime';
const RECONNECT_MS = 500;
const MAX_HIST_MS = 600000;

// Latency histogram in whole milliseconds (clocks agree across processes: performance.timeOrigin + now()).
const hist = new Uint32Array(MAX_HIST_MS + 1);
const { performance } = require('node:perf_hooks');
const now = () => performance.timeOrigin + performance.now();

let stopping = false;
const receivers = [];

class Receiver {
  constructor(index, url) {
    this.index = index;
    this.url = url;
    this.got = new Uint8Array(cfg.total + 1); // got[seq] = 1
    this.count = 0;
    this.duplicates = 0;
    this.maxSeq = 0;
    this.pid = null;
    this.offset = null;
    this.refetches = 0;
    this.lastRefetchOffset = null; // the event id the last `recovered: false` was given at
    this.recovered = 0;
    this.disconnects = 0;
    this.connects = 0;
    this.errors = 0;
    this.connected = false;
    this.onReady = null;
  }

  open() {
    const ws = new WebSocket(`${this.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: { threshold: 1024 } });
    this.ws = ws;
    ws.on('message', (data, isBinary) => this.onFrame(isBinary ? data : data.toString()));
    ws.on('error', () => {
      this.errors++;
    });
    ws.on('close', () => this.onClose());
  }

  onFrame(msg) {
    const c0 = msg.charCodeAt(0);
    if (c0 === 50) {
      // '2' ping → '3' pong
      this.ws.send('3');
      return;
    }
    if (c0 === 48) {
      // '0' engine.io open → socket.io CONNECT to the namespace (with the recovery state once we have it)
      const auth = cfg.token ? { token: cfg.token } : {};
      const data = this.pid ? { pid: this.pid, offset: this.offset, ...auth } : auth;
      this.ws.send(`40${NSP},${JSON.stringify(data)}`);
      return;
    }
    if (c0 !== 52) return; // '4' message
    const type = msg.charCodeAt(1);
    if (type === 50) return this.onEvent(msg); // '2' EVENT
    if (type === 48) {
      // '0' CONNECT ok: {sid, pid?}
      const body = JSON.parse(msg.slice(msg.indexOf(',') + 1));
      if (body.pid) this.pid = body.pid;
      this.connects++;
      this.connected = true;
      if (!cfg.token && this.onReady) this.onReady(); // stock sends no `connected` event
      return;
    }
    if (type === 52) {
      // '4' CONNECT_ERROR
      this.errors++;
      this.ws.close();
    }
    // '1' DISCONNECT from the server: the close follows
  }

  onEvent(msg) {
    // 42/realtime,["bench",{...},"<id>"]  (ours: the id is the last argument; stock: no id)
    const start = msg.indexOf('[');
    if (msg.endsWith('"]')) {
      const q = msg.lastIndexOf('"', msg.length - 3);
      if (this.pid) this.offset = msg.slice(q + 1, msg.length - 2);
    }
    if (msg.startsWith('"bench"', start + 1)) {
      const i = msg.indexOf('"seq":', start) + 6;
      const seq = parseInt(msg.slice(i, msg.indexOf(',', i)), 10);
      const j = msg.indexOf('"t":', i) + 4;
      const t = parseFloat(msg.slice(j, j + 24));
      let ms = Math.round(now() - t);
      if (ms < 0) ms = 0;
      if (ms > MAX_HIST_MS) ms = MAX_HIST_MS;
      hist[ms]++;
      if (seq > 0 && seq <= cfg.total && !this.got[seq]) {
        this.got[seq] = 1;
        this.count++;
        if (seq > this.maxSeq) this.maxSeq = seq;
      } else if (this.got[seq]) this.duplicates++;
      return;
    }
    if (msg.startsWith('"connected"', start + 1)) {
      const body = JSON.parse(msg.slice(start));
      if (body[1] && body[1].recovered === false && this.count) {
        this.refetches++;
        this.lastRefetchOffset = body.length > 2 ? Number(body[2]) : null;
      } else if (body[1] && body[1].recovered === true) this.recovered++;
      if (this.onReady) this.onReady();
    }
  }

  onClose() {
    if (this.connected) this.disconnects++;
    this.connected = false;
    if (stopping) return;
    // Reconnect like socket.io-client (reconnectionDelay 500 ms, jittered), with pid + offset.
    setTimeout(() => !stopping && this.open(), RECONNECT_MS * (0.5 + Math.random()));
  }

  report() {
    return {
      // seqs received, as a bitmap (base64) to keep the IPC message small
      got: Buffer.from(packBits(this.got)).toString('base64'),
      count: this.count,
      duplicates: this.duplicates,
      maxSeq: this.maxSeq,
      refetches: this.refetches,
      lastRefetchOffset: this.lastRefetchOffset,
      recovered: this.recovered,
      disconnects: this.disconnects,
      reconnects: Math.max(0, this.connects - 1),
      errors: this.errors,
    };
  }
}

function packBits(bytes) {
  const out = new Uint8Array(Math.ceil(bytes.length / 8));
  for (let i = 0; i < bytes.length; i++) if (bytes[i]) out[i >> 3] |= 1 << (i & 7);
  return out;
}

async function main() {
  // Hard stop: whatever happens, this process is gone after hardStopMs.
  setTimeout(() => process.exit(3), cfg.hardStopMs).unref();
  process.on('disconnect', () => process.exit(0)); // the parent went away
  let next = 0;
  const worker = async () => {
    while (next < cfg.count) {
      const i = next++;
      const r = new Receiver(i, cfg.urls[(cfg.first + i) % cfg.urls.length]);
      receivers.push(r);
      await new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`receiver ${i}: connect timeout`)), 30000);
        r.onReady = () => {
          clearTimeout(t);
          r.onReady = null;
          resolve();
        };
        r.open();
      });
    }
  };
  try {
    await Promise.all(Array.from({ length: 20 }, worker));
  } catch (e) {
    process.send({ error: e.message });
    return;
  }
  process.send({ ready: true });
  process.on('message', (m) => {
    if (m === 'count') process.send({ count: receivers.reduce((a, r) => a + r.count, 0) });
    if (m === 'start' && cfg.slow) {
      // Slow consumers: the first cfg.slow receivers stop reading for stallMs (what the server then
      // buffers for them is what shedding is about), then read again.
      const slow = receivers.slice(0, cfg.slow);
      for (const r of slow) r.ws._socket?.pause();
      setTimeout(() => {
        for (const r of slow) if (r.ws._socket && !r.ws._socket.destroyed) r.ws._socket.resume();
      }, cfg.stallMs);
    }
    if (m !== 'report') return;
    stopping = true;
    const sparse = [];
    for (let ms = 0; ms <= MAX_HIST_MS; ms++) if (hist[ms]) sparse.push([ms, hist[ms]]);
    process.send({ receivers: receivers.map((r) => r.report()), hist: sparse }, () => {
      for (const r of receivers) r.ws.terminate();
      setTimeout(() => process.exit(0), 100);
    });
  });
}

main();
