// @ts-check
'use strict';
/**
 * The production topology for a drill: the project's own MariaDB replication + Redis (stack
 * SWITCHBOARD_DRILL_STACK, default "drill"), migrations, then scripts/cluster.js — nginx, N api
 * processes and 2 workers under supervisord, exactly as `npm run up -- --instances N` runs them.
 */
const path = require('node:path');
const net = require('node:net');

const ROOT = path.join(__dirname, '..', '..');

/** Settings a drill needs that production would set too: room for the drill's clients. */
const DRILL_ENV = {
  NODE_ENV: 'production',
  LOG_LEVEL: 'warn',
  MAX_CONCURRENT_CONNECTIONS: '20000',
  MAX_CONNECTIONS_PER_IP: '200',
  // Senders are a few users posting many messages: the per-user abuse limits are not under test.
  RATE_LIMIT_POINTS: '100000',
  WRITE_RATE_LIMIT_POINTS: '100000',
  HTTP_RATE_LIMIT_POINTS: '100000',
  LOGIN_THROTTLE_ATTEMPTS: '100000',
};

function portAnswers(port) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
    s.setTimeout(300, () => (s.destroy(), resolve(false)));
  });
}

/** A base port with `span` free ports after it, below 32768 (the machine's ephemeral range starts there). */
async function freeBase(span) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 10000);
    let free = true;
    for (let p = base; p <= base + span + 110 && free; p++) if (p === base || p <= base + span || p === base + 101 || p === base + 102) free = !(await portAnswers(p));
    if (free) return base;
  }
  throw new Error('no free port range found');
}

/**
 * @param {{ instances?: number, stackName?: string, name?: string, env?: Record<string,string>, log?: (m: string) => void }} opts
 */
async function startTopology({ instances = 3, stackName = process.env.SWITCHBOARD_DRILL_STACK || process.env.SWITCHBOARD_STACK || 'drill', name, env = {}, log = () => {} } = {}) {
  const { services, migrate } = require(path.join(ROOT, 'scripts', 'services.js'));
  const cluster = require(path.join(ROOT, 'scripts', 'cluster.js'));
  const given = ['DB_WRITE_HOST', 'DB_READ_HOST', 'REDIS_URL'].every((v) => process.env[v]);
  const svc = given
    ? { env: Object.fromEntries(['DB_WRITE_HOST', 'DB_WRITE_PORT', 'DB_READ_HOST', 'DB_DATABASE', 'DB_USERNAME', 'DB_PASSWORD', 'REDIS_URL', 'SESSION_SECRET', 'JWT_SECRET'].filter((k) => process.env[k] !== undefined).map((k) => [k, String(process.env[k])])) }
    : await services(stackName, log);
  if (!given) migrate(svc.env);
  const port = await freeBase(instances + 1);
  const handle = await cluster.start({
    instances,
    port,
    env: { ...svc.env, ...DRILL_ENV, ...env },
    name: name ?? `drill-${stackName}`,
    log,
    readyTimeoutMs: 180000,
  });
  return { cluster: handle, env: { ...svc.env, ...DRILL_ENV, ...env }, stackName };
}

module.exports = { startTopology, DRILL_ENV, ROOT };
