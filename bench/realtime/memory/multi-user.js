// RSS and JS heap per socket after the same GC request (mem-probe.js) with N sockets of N distinct users,
// each subscribed to its room of 10 (bench:scale's fixtures and load: a token per user, `subscribe`),
// on one process: ours (OURS_ROOT's dist/main.js, default this checkout) or stock (bench/scale/stock-server.js).
// Also the allocation between GCs while idle (--trace-gc), and with SAMPLE=<tag> an allocation-sampling
// profile of the idle phase (sample.js; summarise it with profile-summary.js).
//   BENCH_STACK=h-mem STACK_PORT_BASE=29800 IDLE0_S=5 IDLE_S=15 node bench/realtime/memory/multi-user.js ours|stock 5000
// Run it with the project's Node (node_modules/node/bin/node): the servers run on process.execPath.
// Per socket it prints RSS, JS heap used, RSS outside it (rss − heapUsed), external and arrayBuffers
// (process.memoryUsage), V8's physical pages, and RSS by kind of mapping (mem-probe.js MEM_PROBE_SMAPS):
// brk = glibc's main arena, arena = its thread arenas, anon = other anonymous mappings (V8's pages among them).
// SERVER_FLAGS='--max-semi-space-size=1 ...' adds node flags to the server; OURS_ENV='{"K":"v"}' adds
// environment variables to the server (either kind: MALLOC_ARENA_MAX, say).
const { spawn } = require('node:child_process');
const { join } = require('node:path');
const { tmpdir } = require('node:os');
const root = join(__dirname, '..', '..', '..');
const { existsSync: ex, readFileSync: rf, rmSync: rm } = require('node:fs');
const PF = join(tmpdir(), `multi-user-probe-${process.pid}.json`);
const kind = process.argv[2], N = Number(process.argv[3] || 2000);
const { io } = require(join(root, 'node_modules', 'socket.io-client'));
const jwt = require(join(root, 'node_modules', 'jsonwebtoken'));
const { randomUUID } = require('node:crypto');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function main() {
    const { services } = require(join(root, 'scripts', 'services.js'));
  const { env } = await services(process.env.BENCH_STACK || 'bench', () => {});
  const { makeFixtures, cleanup } = require(join(root, 'bench', 'scale', 'fixtures.js'));
  await cleanup(env);
  const fx = await makeFixtures(env, { users: N, roomSize: 10, tag: `hm${Date.now().toString(36)}`, log: () => {} });
  const port = 29852 + (kind === 'ours' ? 0 : 1);
  const main = kind === 'ours' ? join(process.env.OURS_ROOT || root, 'dist', 'main.js') : join(root, 'bench', 'scale', 'stock-server.js');
  const child = spawn(process.execPath, [...(process.env.SERVER_FLAGS ? process.env.SERVER_FLAGS.split(' ').filter(Boolean) : []), ...(process.env.SAMPLE ? ['-r', join(__dirname, 'sample.js')] : []), '-r', join(root, 'bench', 'realtime', 'mem-probe.js'), '--trace-gc', main], { cwd: root, env: { ...process.env, ...env, NODE_ENV: 'production', MEM_PROBE_FILE: PF, MEM_PROBE_SMAPS: '1', SAMPLE_FILE: join(tmpdir(), `sample-${kind}-${process.env.SAMPLE || 'x'}.json`), PORT: String(port), LOG_LEVEL: 'error', MAX_CONCURRENT_CONNECTIONS: '60000', MAX_CONNECTIONS_PER_IP: '60000', ...(process.env.OURS_ENV ? JSON.parse(process.env.OURS_ENV) : {}) }, stdio: ['ignore', 'pipe', 'inherit'] });
  let phase = 'boot'; const acc = {}; let lastAfter = null; let buf = '';
  child.stdout.on('data', (d) => {
    buf += d; let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i); buf = buf.slice(i + 1);
      const m = /(\d+) ms: (Scavenge|Mark-Compact|Minor Mark-Sweep)[^\d]*([\d.]+) \(([\d.]+)\) -> ([\d.]+) \(([\d.]+)\) MB/.exec(line);
      if (!m) { if (process.env.V) console.log(line); continue; }
      const before = +m[3], after = +m[5];
      const a = (acc[phase] ||= { gcs: 0, scav: 0, mc: 0, alloc: 0, t0: null, t1: 0, total: 0 });
      if (lastAfter !== null) a.alloc += before - lastAfter;
      lastAfter = after; a.gcs++; if (m[2] === 'Mark-Compact') a.mc++; else a.scav++;
      a.t0 ??= +m[1]; a.t1 = +m[1]; a.total = +m[6];
    }
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) { try { const r = await fetch(`${url}/livez`); if (r.status < 500) break; } catch { /* not up yet */ } if (i > 600) throw new Error('no boot'); await sleep(200); }
  await sleep(5000);
  const probe = async () => { rm(PF, { force: true }); child.kill('SIGUSR2'); while (!ex(PF)) await sleep(100); return JSON.parse(rf(PF, 'utf8')).after; };
  const base = await probe();
  phase = 'idle0'; const t0 = Date.now(); await sleep(Number(process.env.IDLE0_S || 40) * 1000); const idle0 = (Date.now() - t0) / 1000;
  phase = 'connect';
  let next = 0;
  const worker = async () => { while (next < N) { const i = next++; const u = process.env.SAME_USER ? fx.users[0] : fx.users[i]; const room = `project:${u.project}`;
    const auth = kind === 'ours' ? { token: jwt.sign({ sub: String(u.id), role: 'user', jti: randomUUID() }, env.JWT_SECRET, { algorithm: 'HS256', expiresIn: 6 * 3600 }) } : { user: u.id, room };
    const s = io(`${url}/realtime`, { transports: ['websocket'], forceNew: true, reconnection: false, auth });
    await new Promise((resolve, reject) => { s.once('connected', () => kind === 'stock' || process.env.SAME_USER ? resolve() : s.emit('subscribe', { room }, (ack) => (ack?.ok ? resolve() : reject(new Error(JSON.stringify(ack)))))); s.once('connect_error', reject); }); } };
  await Promise.all(Array.from({ length: 50 }, worker));
  await sleep(5000);
  phase = 'idleN'; const t1 = Date.now(); if (process.env.SAMPLE) child.kill('SIGWINCH'); await sleep(Number(process.env.IDLE_S || 60) * 1000); if (process.env.SAMPLE) { child.kill('SIGWINCH'); await sleep(3000); } const idleN = (Date.now() - t1) / 1000;
  phase = 'end';
  const after = await probe();
  const per = (k) => +((after[k] - base[k]) / 1024 / N).toFixed(2);
  const nsp = (x) => x.spaces.new_space.physical;
  const perSmaps = (k) => +((after.smaps[k] - base.smaps[k]) / N).toFixed(2);
  console.log(JSON.stringify({ kind, N, ours: process.env.OURS_ROOT || root, flags: process.env.SERVER_FLAGS, env: process.env.OURS_ENV, rssKb: per('rss'), heapKb: per('heapUsed'), nonHeapKb: +(per('rss') - per('heapUsed')).toFixed(2), externalKb: per('external'), arrayBuffersKb: per('arrayBuffers'), v8PhysicalKb: per('v8Physical'),
    smapsKb: { brk: perSmaps('brkKb'), arena: perSmaps('arenaKb'), anon: perSmaps('anonKb'), file: perSmaps('fileKb'), anonExV8: +(perSmaps('anonKb') - per('v8Physical')).toFixed(2) }, arenas: [base.smaps.arenas, after.smaps.arenas],
    mb: { rss: [base.rss, after.rss].map((b) => +(b / 1048576).toFixed(1)), heapUsed: [base.heapUsed, after.heapUsed].map((b) => +(b / 1048576).toFixed(1)), v8Physical: [base.v8Physical, after.v8Physical].map((b) => +(b / 1048576).toFixed(1)) }, rssExNewSpaceKb: +(((after.rss - nsp(after)) - (base.rss - nsp(base))) / 1024 / N).toFixed(2), newSpaceMb: [+(nsp(base) / 1048576).toFixed(1), +(nsp(after) / 1048576).toFixed(1)] }));
  console.log(JSON.stringify({ kind, N, idle0: { s: idle0, ...acc.idle0, mbPerS: acc.idle0 && +(acc.idle0.alloc / idle0).toFixed(2) }, idleN: { s: idleN, ...acc.idleN, mbPerS: acc.idleN && +(acc.idleN.alloc / idleN).toFixed(2) }, connect: acc.connect }));
  child.kill('SIGTERM'); await sleep(1000); await cleanup(env); process.exit(0);
}
main().catch((e) => { console.error(e); process.exit(1); });
