// @ts-check
'use strict';
// The stock peer of bench:scale: a plain Socket.IO 4.8 server with the Redis pub/sub adapter
// (@socket.io/redis-adapter on ioredis), run by the same supervisord program as our api (the benchmark
// gives it a checkout whose dist/main.js is this file) on PORT, behind the same nginx. What a team
// would write with the libraries alone: no authentication, no limits, no recovery (the Redis pub/sub
// adapter has none), the rooms the client names in its handshake (`auth: {user, room}`), `/up` for nginx
// and supervisord. Emits `connected {socketId, recovered}` like ours so the clients are the same code.
const http = require('node:http');
const { Server } = require('socket.io');
const { createAdapter } = require('@socket.io/redis-adapter');
const Redis = require('ioredis');

const ROOM = /^project:[1-9][0-9]{0,9}$/;
const server = http.createServer((req, res) => {
  if (req.url === '/up' || req.url === '/livez') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"status":"ok"}');
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end('{"statusCode":404}');
});
const pub = new Redis(String(process.env.REDIS_URL));
const sub = pub.duplicate();
const io = new Server(server, {
  adapter: createAdapter(pub, sub, { key: process.env.SCALE_STOCK_KEY || 'scale-stock' }),
  pingInterval: Number(process.env.WS_PING_INTERVAL_MS || 25000),
  pingTimeout: Number(process.env.WS_PING_TIMEOUT_MS || 60000),
});
io.of('/realtime').on('connection', (socket) => {
  const auth = /** @type {{ user?: unknown, room?: unknown }} */ (socket.handshake.auth ?? {});
  const rooms = [];
  if (typeof auth.user === 'number' && Number.isSafeInteger(auth.user)) rooms.push(`user:${auth.user}`);
  if (typeof auth.room === 'string' && ROOM.test(auth.room)) rooms.push(auth.room);
  socket.join(rooms);
  socket.emit('connected', { socketId: socket.id, recovered: socket.recovered });
});
server.listen(Number(process.env.PORT), process.env.HOST || '127.0.0.1');
let closing = false;
process.on('SIGTERM', () => {
  if (closing) return;
  closing = true;
  io.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 10000).unref();
});
