'use strict';
/** One upstream of the drain-race lab (run.sh): a tiny HTTP server with the api's SIGTERM sequence. */
const http = require('node:http');
const net = require('node:net');
// MODE=old: the drain before 2026-12-04 22:40 (reads 503, Connection: close, then http.Server.close()).
// MODE=two-phase: serve on kept-alive connections, then stop accepting and wait for no idle connection (shutdown-state.ts).
// MODE=stop-late: reads 503 and Connection: close during the drain, then stop accepting and wait for no idle
// connection (like the reverted try bf7eec0, which waited 1 s instead).
const MODE = process.env.MODE; const PORT = +process.env.PORT;
const DRAIN = +process.env.DRAIN_MS, IDLE_MAX = +process.env.IDLE_MAX_MS;
let phase = 'serving';
const open = new Map(); // socket -> in-flight count
const server = http.createServer((req, res) => {
  open.set(req.socket, (open.get(req.socket) ?? 0) + 1);
  res.once('close', () => { if (open.has(req.socket)) open.set(req.socket, open.get(req.socket) - 1); });
  const read = req.method === 'GET';
  if (MODE === 'old' && phase !== 'serving') res.setHeader('Connection', 'close');
  if ((MODE === 'stop-late' || MODE === 'two-phase') && phase === 'closing') res.setHeader('Connection', 'close');
  if (phase === 'draining' && read && MODE !== 'two-phase') { res.statusCode = 503; res.end('draining'); return; }
  let body = ''; req.on('data', (c) => (body += c)); req.on('end', () => setTimeout(() => { res.statusCode = read ? 200 : 201; res.end('ok'); }, 2));
});
server.on('connection', (s) => { open.set(s, 0); s.once('close', () => open.delete(s)); });
server.keepAliveTimeout = 5000;
server.listen(PORT, '127.0.0.1', 511);
const idle = () => [...open.values()].filter((n) => n === 0).length;
process.on('SIGTERM', async () => {
  phase = 'draining';
  await new Promise((r) => setTimeout(r, DRAIN));
  if (MODE === 'stop-late' || MODE === 'two-phase') {
    net.Server.prototype.close.call(server); phase = 'closing';
    const until = Date.now() + IDLE_MAX;
    while (idle() > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    process.stderr.write(`idle left ${idle()} after ${IDLE_MAX - (until - Date.now())} ms\n`);
  }
  const spin = Date.now() + (+process.env.BUSY_MS || 0); while (Date.now() < spin);
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 5000);
});
