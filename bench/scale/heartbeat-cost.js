#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * node bench/scale/heartbeat-cost.js [SLOTS=12500] [ROOT ...]
 *
 * CPU of the realtime heartbeat alone (ClusterState.beat(): reconciliation, the process hash write) with
 * SLOTS connection slots from SLOTS distinct addresses (behind nginx a process sees one address per client)
 * and as many users online, for each checkout's built dist/ (before/after), in 3 alternating rounds of 40
 * beats. Redis is a fake that answers at once, so ioredis' own serialising is not in the figure: it is the
 * JavaScript the heartbeat runs, a lower bound of its cost (issue 18).
 */
const path = require('node:path');

const slots = Number(process.argv[2] ?? 12500);
const roots = process.argv.slice(3).length ? process.argv.slice(3) : [path.join(__dirname, '..', '..')];
const BEATS = 40;

function fakeRedis() {
  /** @type {Record<string, unknown>} */
  const chain = {};
  for (const name of ['del', 'hexists', 'hdel', 'pexpire', 'zadd', 'zrem', 'hset']) chain[name] = () => chain;
  chain.exec = async () => [[null, 1]];
  return {
    on() {},
    multi: () => chain,
    pipeline: () => ({ hget() {}, exec: async () => [] }),
    zrangebyscore: async () => [],
    sendCommand(/** @type {{ resolve?: (v: unknown) => void }} */ c) {
      c.resolve?.(1);
    },
  };
}

/** ms of CPU per beat for the checkout at `root`. */
async function perBeat(root) {
  const { ClusterState } = require(path.join(root, 'dist', 'core', 'realtime', 'cluster-state.js'));
  const config = { redis: { prefix: 'bench:' }, instanceId: 'bench', realtime: { maxConnections: 1e9, maxConnectionsPerIp: 1e9 } };
  const local = { version: () => 1, snapshot: () => ({ namespaces: {}, sse: { clients: 0, authenticated: 0 }, rooms: {} }) };
  /** @type {any} private members are what is measured */
  const cluster = new ClusterState(fakeRedis(), config, local, { capacity() {} });
  const kind = { transport: 'websocket', isOpen: () => true, forget() {} };
  for (let i = 0; i < slots; i++) {
    cluster.ledger.take(kind, { i }, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    cluster.userOnline(i);
  }
  await cluster.beat(); // the first is a whole rewrite
  await cluster.beat();
  const c0 = process.cpuUsage();
  for (let i = 0; i < BEATS; i++) await cluster.beat();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / BEATS;
}

(async () => {
  for (let round = 1; round <= 3; round++) {
    const figures = [];
    for (const root of roots) figures.push(`${root}: ${(await perBeat(root)).toFixed(2)} ms/beat`);
    console.log(`round ${round}, ${slots} slots from ${slots} addresses, ${BEATS} beats: ${figures.join(' | ')}`);
  }
})();
