// @ts-check
// Where the services come from: the environment (DB_WRITE_HOST, DB_READ_HOST, REDIS_URL) or our own stack.
const { spawnSync } = require('node:child_process');
const { existsSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
const { parseEnv } = require('node:util');
const stack = require('./stack');
const { secretsEnv } = require('./secrets');

const root = join(__dirname, '..');
const SERVICE_VARS = ['DB_WRITE_HOST', 'DB_READ_HOST', 'REDIS_URL'];

/**
 * The environment over the checkout's `.env`, as the processes themselves read it
 * (src/config/dot-env.ts): for `npm run up`, so that a `.env` naming your own services or secrets
 * is honoured. Tests and benchmarks never read it (their results must not depend on it).
 * @returns {Record<string, string | undefined>}
 */
function withDotEnv() {
  const file = join(root, '.env');
  if (!existsSync(file)) return process.env;
  return { ...parseEnv(readFileSync(file, 'utf8')), ...Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined)) };
}

/**
 * Returns { env, own } where own says the project started its own stack. env also carries the
 * stack's own SESSION_SECRET/JWT_SECRET (scripts/secrets.js) unless they are set.
 * `dotEnv`: also count what the checkout's `.env` sets (npm run up).
 */
async function services(stackName, log = (m) => console.error(`[switchboard] ${m}`), { dotEnv = false } = {}) {
  const configured = dotEnv ? withDotEnv() : process.env;
  // Laravel's REDIS_HOST stands for REDIS_URL.
  const given = SERVICE_VARS.filter((v) => configured[v] || (v === 'REDIS_URL' && configured.REDIS_HOST));
  if (given.length === SERVICE_VARS.length) return { env: secretsEnv(root, configured), own: false };
  if (given.length) {
    throw new Error(`Set all of ${SERVICE_VARS.join(', ')} to use your own services, or none to use the local stack (set: ${given.join(', ')})`);
  }
  const started = Date.now();
  const env = await stack.up(stackName, { log });
  log(`MariaDB primary ${env.DB_WRITE_PORT}, replica ${env.DB_READ_HOST}, Redis ${env.REDIS_URL} ready in ${Date.now() - started} ms (stack "${stackName}")`);
  return { env: { ...secretsEnv(root, configured), ...env }, own: true };
}

function migrate(env) {
  const r = spawnSync(process.execPath, [join(root, 'dist', 'cli.js'), 'migrate'], { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error('migrations failed');
}

module.exports = { services, migrate, root };
