// @ts-check
'use strict';
// Users and rooms for bench:scale, written straight into the primary: one user per socket and rooms
// of ten (projects whose ten members may subscribe to `project:<id>`). Registering 100,000 users
// through the API would hash 100,000 passwords (minutes of CPU that measure nothing here); the
// benchmark's clients never log in, they hold tokens signed with the stack's JWT_SECRET exactly as
// POST /api/auth/token issues them (load.js). Rows are tagged with the run, and removed by cleanup().
const { join } = require('node:path');

const root = join(__dirname, '..', '..');
const BATCH = 5000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** @param {Record<string, string | undefined>} env */
async function connect(env, host = env.DB_WRITE_HOST, port = env.DB_WRITE_PORT) {
  const mysql = require(join(root, 'node_modules', 'mysql2', 'promise'));
  return mysql.createConnection({ host, port: Number(port || 3306), user: env.DB_USERNAME || 'root', password: env.DB_PASSWORD || '', database: env.DB_DATABASE || 'switchboard', multipleStatements: false });
}

/**
 * @param {Record<string, string | undefined>} env
 * @param {{ users: number, roomSize: number, tag: string, log: (m: string) => void }} opts
 * @returns {Promise<{ users: { id: number, project: number }[], projects: number[] }>}
 */
async function makeFixtures(env, { users: count, roomSize, tag, log }) {
  const db = await connect(env);
  try {
    const started = Date.now();
    for (let i = 0; i < count; i += BATCH) {
      const rows = [];
      for (let j = i; j < Math.min(count, i + BATCH); j++) rows.push([`${tag}-${j}@scale.bench`, `scale ${j}`, '!', 'user']);
      await db.query('INSERT INTO users (email, name, password_hash, role) VALUES ?', [rows]);
    }
    const [idRows] = await db.query('SELECT id FROM users WHERE email LIKE ? ORDER BY id', [`${tag}-%`]);
    const ids = /** @type {{ id: number }[]} */ (idRows).map((r) => Number(r.id));
    if (ids.length !== count) throw new Error(`fixtures: ${ids.length} users written, ${count} expected`);
    const groups = Math.ceil(count / roomSize);
    for (let g = 0; g < groups; g += BATCH) {
      const rows = [];
      for (let k = g; k < Math.min(groups, g + BATCH); k++) rows.push([`${tag} room ${k}`, ids[k * roomSize]]);
      await db.query('INSERT INTO projects (name, owner_id) VALUES ?', [rows]);
    }
    const [projRows] = await db.query('SELECT id FROM projects WHERE name LIKE ? ORDER BY id', [`${tag} room %`]);
    const projects = /** @type {{ id: number }[]} */ (projRows).map((r) => Number(r.id));
    if (projects.length !== groups) throw new Error(`fixtures: ${projects.length} rooms written, ${groups} expected`);
    const users = ids.map((id, i) => ({ id, project: projects[Math.floor(i / roomSize)] }));
    for (let i = 0; i < users.length; i += BATCH) {
      await db.query('INSERT INTO project_members (project_id, user_id) VALUES ?', [users.slice(i, i + BATCH).map((u) => [u.project, u.id])]);
    }
    // Subscriptions are checked on the replica: wait until it has every membership.
    const replica = String(env.DB_READ_HOST || '').split(',')[0];
    if (replica) {
      const [host, port] = replica.split(':');
      const rdb = await connect(env, host, port || env.DB_PORT || '3306');
      try {
        const deadline = Date.now() + 120000;
        for (;;) {
          const [r] = await rdb.query('SELECT COUNT(*) AS n FROM project_members pm JOIN projects p ON p.id = pm.project_id WHERE p.name LIKE ?', [`${tag} room %`]);
          if (Number(/** @type {{ n: number }[]} */ (r)[0].n) === count) break;
          if (Date.now() > deadline) throw new Error('fixtures: the replica did not catch up within 120 s');
          await sleep(500);
        }
      } finally {
        await rdb.end();
      }
    }
    log(`fixtures: ${count} users, ${groups} rooms of ${roomSize} written and replicated in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return { users, projects };
  } finally {
    await db.end();
  }
}

/** Removes every row a bench:scale run wrote (users cascade to memberships and owned projects). */
async function cleanup(env, log = () => undefined) {
  const db = await connect(env);
  try {
    const [r] = await db.query("DELETE FROM users WHERE email LIKE '%@scale.bench'");
    log(`fixtures: removed ${/** @type {{ affectedRows: number }} */ (r).affectedRows} benchmark users`);
  } finally {
    await db.end();
  }
}

module.exports = { makeFixtures, cleanup };
