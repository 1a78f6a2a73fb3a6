// Heap snapshots of one server (ours or stock) after WARM sockets (default 500, so that lazily compiled code
// and grown pools are in both) and after N more, each socket its own user with a token, in its room of 10.
// Compare the two with heap-diff.js (by constructor) or retainer-diff.js (by constructor and retainers).
//   BENCH_STACK=h-mem STACK_PORT_BASE=29800 node bench/realtime/memory/snapshots.js ours|stock 2000 [checkout] [tag]
const { spawn } = require('node:child_process');
const { existsSync, mkdirSync, rmSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
const root = process.argv[4] || join(__dirname, '..', '..', '..');
const kind = process.argv[2];
const N = Number(process.argv[3] || 2000);
const { io } = require(join(root, 'node_modules', 'socket.io-client'));
const jwt = require(join(root, 'node_modules', 'jsonwebtoken'));
const { randomUUID } = require('node:crypto');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function main() {
  const { services } = require(join(root, 'scripts', 'services.js'));
  const { env } = await services(process.env.BENCH_STACK || 'bench', () => {});
  const { makeFixtures, cleanup } = require(join(root, 'bench', 'scale', 'fixtures.js'));
  await cleanup(env);
  const fx = await makeFixtures(env, { users: N + Number(process.env.WARM || 500), roomSize: 10, tag: `hm${Date.now().toString(36)}`, log: () => {} });
  const dir = join(require('node:os').tmpdir(), `snap-${kind}-${process.argv[5] || 'x'}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const port = 29850 + (kind === 'ours' ? 0 : 1);
  const main = kind === 'ours' ? join(root, 'dist', 'main.js') : join(root, 'bench', 'scale', 'stock-server.js');
  const child = spawn(process.execPath, ['-r', join(root, 'bench', 'realtime', 'mem-probe.js'), main], {
    cwd: root,
    env: { ...process.env, ...env, NODE_ENV: 'production', PORT: String(port), LOG_LEVEL: 'error', MAX_CONCURRENT_CONNECTIONS: '60000', MAX_CONNECTIONS_PER_IP: '60000', MEM_PROBE_DIR: dir, MEM_PROBE_HEAP_SNAPSHOT: '1', ...(process.env.OURS_ENV ? JSON.parse(process.env.OURS_ENV) : {}) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) { try { const r = await fetch(`${url}/livez`); if (r.status < 500) break; } catch { /* not up yet */ } if (i > 600) throw new Error('no boot'); await sleep(200); }
  await sleep(2000);
  const probe = async (n) => {
    child.kill('SIGUSR2');
    const f = join(dir, `${child.pid}-${n}.json`);
    for (let i = 0; !existsSync(f); i++) { if (i > 1200) throw new Error('no probe'); await sleep(100); }
    return JSON.parse(readFileSync(f, 'utf8'));
  };
  const sockets = [];
  let next = 0;
  const W = Number(process.env.WARM || 500);
  let limit = W;
  const worker = async () => {
    while (next < limit) {
      const i = next++;
      const u = fx.users[i];
      const room = `project:${u.project}`;
      const auth = kind === 'ours' ? { token: jwt.sign({ sub: String(u.id), role: 'user', jti: randomUUID() }, env.JWT_SECRET, { algorithm: 'HS256', expiresIn: 6 * 3600 }) } : { user: u.id, room };
      const s = io(`${url}/realtime`, { transports: ['websocket'], forceNew: true, reconnection: false, auth });
      await new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('timeout')), 60000);
        s.once('connected', () => {
          if (kind === 'stock') return (clearTimeout(t), resolve());
          s.emit('subscribe', { room }, (ack) => (clearTimeout(t), ack?.ok ? resolve() : reject(new Error(JSON.stringify(ack)))));
        });
        s.once('connect_error', (e) => (clearTimeout(t), reject(e)));
      });
      sockets.push(s);
    }
  };
  await Promise.all(Array.from({ length: 50 }, worker));
  await sleep(2000);
  const p0 = await probe(1);
  limit = W + N;
  await Promise.all(Array.from({ length: 50 }, worker));
  await sleep(3000);
  const p1 = await probe(2);
  const per = (k) => ((p1.after[k] - p0.after[k]) / 1024 / N).toFixed(2);
  console.log(JSON.stringify({ kind, N, rssKb: per('rss'), heapKb: per('heapUsed'), externalKb: per('external'), s0: p0.snapshot, s1: p1.snapshot }));
  for (const s of sockets) s.disconnect();
  child.kill('SIGTERM');
  await sleep(1000);
  await cleanup(env);
  process.exit(0);
}
main().catch((e) => { console.error(e); process.exit(1); });
