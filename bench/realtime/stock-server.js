// The stock comparison: a plain Socket.IO 4.8 server with the Redis pub/sub adapter on ioredis,
// every socket of /realtime in room "bench". Started by run.js; PORT and REDIS_URL from the environment.
const { Server } = require('socket.io');
const { createAdapter } = require('@socket.io/redis-adapter');
const Redis = require('ioredis');

const pub = new Redis(process.env.REDIS_URL);
const sub = pub.duplicate();
const io = new Server(Number(process.env.PORT), { adapter: createAdapter(pub, sub, { key: process.env.ADAPTER_KEY || 'bench-stock' }) });
io.of('/realtime').on('connection', (socket) => socket.join('bench'));
process.on('SIGTERM', () => io.close(() => process.exit(0)));
process.send?.('ready');
