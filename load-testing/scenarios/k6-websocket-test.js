/**
 * k6 WebSocket scenario for Switchboard (seed 000: 3,000 concurrent connections, messages under
 * 100 ms, errors under 1 %).
 *
 *   k6 run load-testing/scenarios/k6-websocket-test.js
 *   k6 run -e BASE_URL=http://127.0.0.1:3000 -e USERS=50 -e ROOMS=10 -e PEAK=3000 load-testing/scenarios/k6-websocket-test.js
 *
 * Written for k6's own API (k6/ws, k6/http, k6/metrics). k6 is not packaged for Debian, so it
 * has NOT been run on the machines this project is developed on; `npm run load`
 * (load-testing/run.js, Node + socket.io-client) is the generator that runs here.
 *
 * k6 has no Socket.IO client: this speaks the Engine.IO v4 / Socket.IO v5 wire protocol over a
 * plain WebSocket (`/socket.io/?EIO=4&transport=websocket`):
 *   server "0{...}" open       -> client "40/chat,{"token":"..."}" (namespace connect with auth)
 *   server "2" ping            -> client "3" pong
 *   client "42/chat,<id>["event",{...}]"  emit with acknowledgement id
 *   server "43/chat,<id>[{...}]"           acknowledgement
 *   server "42/chat,["message:new",{...}]" event
 *
 * Connections from one k6 machine share one address: raise MAX_CONNECTIONS_PER_IP on the
 * server for the run (the cap is cluster-wide), or spread the load over several k6 machines.
 */
import http from 'k6/http';
import ws from 'k6/ws';
import { check, sleep } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:3000';
const WS_URL = BASE_URL.replace(/^http/, 'ws') + '/socket.io/?EIO=4&transport=websocket';
const NAMESPACE = __ENV.NAMESPACE || '/chat';
const USERS = Number(__ENV.USERS || 50);
const ROOMS = Number(__ENV.ROOMS || 10);
const PEAK = Number(__ENV.PEAK || 3000);
const HOLD = __ENV.HOLD || '3m';
const MESSAGE_EVERY_S = Number(__ENV.MESSAGE_EVERY_S || 10);

const messageLatency = new Trend('switchboard_message_latency', true);
const ackLatency = new Trend('switchboard_ack_latency', true);
const connectLatency = new Trend('switchboard_connect_latency', true);
const socketErrors = new Rate('switchboard_socket_errors');
const messagesReceived = new Counter('switchboard_messages_received');

export const options = {
  scenarios: {
    sockets: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: [
        { duration: '1m', target: Math.round(PEAK / 3) },
        { duration: '2m', target: PEAK },
        { duration: HOLD, target: PEAK },
        { duration: '1m', target: 0 },
      ],
      gracefulRampDown: '30s',
    },
  },
  thresholds: {
    // Seed 000's expectations: messages under 100 ms, errors under 1 %.
    switchboard_message_latency: ['p(95)<100'],
    switchboard_ack_latency: ['p(95)<200'],
    switchboard_socket_errors: ['rate<0.01'],
    checks: ['rate>0.99'],
  },
};

/** Users with bearer tokens and chat rooms they all belong to, made once before the VUs start. */
export function setup() {
  const run = Date.now().toString(36);
  const users = [];
  for (let i = 0; i < USERS; i++) {
    const jar = http.cookieJar();
    const email = `k6-${run}-${i}@example.test`;
    const reg = http.post(`${BASE_URL}/api/auth/register`, JSON.stringify({ email, password: 'k6-load-password', name: `k6 ${i}` }), {
      headers: { 'Content-Type': 'application/json' },
      jar,
    });
    check(reg, { 'registered': (r) => r.status === 201 });
    const tok = http.post(`${BASE_URL}/api/auth/token`, null, { jar });
    check(tok, { 'token issued': (r) => r.status === 200 });
    users.push({ id: reg.json('id'), token: tok.json('token'), cookies: jar.cookiesForURL(BASE_URL) });
  }
  const owner = http.cookieJar();
  for (const [name, values] of Object.entries(users[0].cookies)) owner.set(BASE_URL, name, values[0]);
  const rooms = [];
  for (let r = 0; r < ROOMS; r++) {
    const res = http.post(`${BASE_URL}/api/chat/rooms`, JSON.stringify({ name: `k6 ${run} ${r}`, memberIds: users.slice(1).map((u) => u.id) }), {
      headers: { 'Content-Type': 'application/json' },
      jar: owner,
    });
    check(res, { 'room created': (x) => x.status === 201 });
    rooms.push(res.json('id'));
  }
  return { users: users.map((u) => ({ id: u.id, token: u.token })), rooms };
}

export default function (data) {
  const user = data.users[(__VU - 1) % data.users.length];
  const roomId = data.rooms[(__VU - 1) % data.rooms.length];
  const started = Date.now();
  const pendingAcks = {};
  let ackId = 0;
  let joined = false;

  const res = ws.connect(WS_URL, {}, (socket) => {
    const emit = (event, payload, onAck) => {
      const id = ackId++;
      pendingAcks[id] = { at: Date.now(), onAck };
      socket.send(`42${NAMESPACE},${id}${JSON.stringify([event, payload])}`);
    };

    socket.on('message', (msg) => {
      if (msg === '2') return socket.send('3');
      if (msg.startsWith('0')) return socket.send(`40${NAMESPACE},${JSON.stringify({ token: user.token })}`);
      if (msg.startsWith(`44${NAMESPACE}`)) {
        socketErrors.add(1);
        return socket.close();
      }
      if (msg.startsWith(`43${NAMESPACE},`)) {
        const m = /^43[^,]*,(\d+)(.*)$/.exec(msg);
        const pending = m && pendingAcks[m[1]];
        if (pending) {
          delete pendingAcks[m[1]];
          ackLatency.add(Date.now() - pending.at);
          const [ack] = JSON.parse(m[2]);
          pending.onAck(ack);
        }
        return;
      }
      if (msg.startsWith(`42${NAMESPACE},`)) {
        const [event, payload] = JSON.parse(msg.slice(msg.indexOf('[')));
        if (event === 'authenticated') {
          emit('room:join', { roomId }, (ack) => {
            joined = check(ack, { 'joined the room': (a) => a && a.ok === true });
            socketErrors.add(!joined);
            if (joined) connectLatency.add(Date.now() - started);
          });
        } else if (event === 'message:new') {
          const m = /lt:(\d+)/.exec(JSON.stringify(payload));
          if (m) {
            messagesReceived.add(1);
            messageLatency.add(Date.now() - Number(m[1]));
          }
        } else if (event === 'error') {
          socketErrors.add(1);
        }
      }
    });

    // Every VU of the first USERS ones speaks; the rest listen (the server rate-limits per user).
    if (__VU <= data.users.length) {
      socket.setInterval(() => {
        if (!joined) return;
        emit('message:send', { roomId, body: `lt:${Date.now()}` }, (ack) => {
          socketErrors.add(!(ack && ack.ok));
        });
      }, MESSAGE_EVERY_S * 1000);
    }

    socket.on('error', () => socketErrors.add(1));
    // Each VU holds its socket for a while, then reconnects (a new iteration).
    socket.setTimeout(() => socket.close(), 60000 + Math.random() * 30000);
  });

  check(res, { 'websocket upgraded (101)': (r) => r && r.status === 101 });
  sleep(1);
}
