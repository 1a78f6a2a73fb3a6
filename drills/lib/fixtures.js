// @ts-check
'use strict';
/**
 * What the load needs to exist before it starts, made through the public API like any client
 * would: users with tokens, chat rooms of several sizes, projects to run analyses in.
 */
const { request, clientAddress } = require('./http');

async function must(res, what, status) {
  const r = await res;
  if (r.status !== status) throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  return r.body;
}

/** Runs fn over items with at most `limit` at once. */
async function pool(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

/**
 * @param {string} url nginx
 * @param {{ users: number }} opts
 */
async function makeFixtures(url, { users: userCount }) {
  const run = Date.now().toString(36);
  const users = await pool(
    Array.from({ length: userCount }, (_, i) => i),
    8,
    async (i) => {
      const localAddress = clientAddress(5000 + i);
      const reg = await request(url, { method: 'POST', path: '/api/auth/register', body: { email: `drill-${run}-${i}@drill.test`, password: 'drill-password-1', name: `drill ${i}` }, localAddress });
      if (reg.status !== 201) throw new Error(`register: HTTP ${reg.status} ${JSON.stringify(reg.body)}`);
      const cookie = String(reg.headers['set-cookie']?.[0] ?? '').split(';')[0];
      const tok = await must(request(url, { method: 'POST', path: '/api/auth/token', cookie, localAddress }), 'token', 200);
      return { id: reg.body.id, token: tok.token };
    },
  );
  const ids = users.map((u) => u.id);
  // Rooms of several sizes: one with everybody, groups of ten, pairs.
  const roomSpecs = [{ owner: 0, members: ids.slice(1), size: 'large' }];
  for (let g = 0; g + 10 <= ids.length; g += 10) roomSpecs.push({ owner: g, members: ids.slice(g + 1, g + 10), size: 'medium' });
  for (let p = 0; p + 2 <= ids.length; p += 2) roomSpecs.push({ owner: p, members: [ids[p + 1]], size: 'small' });
  const rooms = await pool(roomSpecs, 4, async (spec, i) => {
    const body = await must(request(url, { method: 'POST', path: '/api/chat/rooms', token: users[spec.owner].token, body: { name: `drill ${spec.size} ${i}`, memberIds: spec.members } }), 'room', 201);
    return { id: body.id, size: spec.size, memberIdx: [spec.owner, ...spec.members.map((m) => ids.indexOf(m))] };
  });
  const projects = await pool(
    Array.from({ length: Math.max(1, Math.floor(userCount / 10)) }, (_, g) => g * 10),
    4,
    async (owner) => {
      const members = ids.slice(owner + 1, owner + 10);
      const body = await must(request(url, { method: 'POST', path: '/api/projects', token: users[owner].token, body: { name: `drill ${owner}`, memberIds: members } }), 'project', 201);
      return { id: body.id, memberIdx: [owner, ...members.map((m) => ids.indexOf(m))] };
    },
  );
  return { users, rooms, projects };
}

module.exports = { makeFixtures, pool };
