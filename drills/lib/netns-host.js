// @ts-check
'use strict';
/**
 * A separate host on this machine for the partition drill: a network namespace with two veth
 * links, "front" (nginx -> the api in the namespace) and "back" (the api -> Redis and MariaDB).
 * The services listen on loopback only, so the host end of the back link relays each service port
 * (plain TCP relays on the host's back address); cutting the back link is a real cut of the
 * traffic, with `tc netem loss 100%` (packets vanish, as in a partition) where the kernel has
 * netem, else by taking the link down.
 */
const { execFileSync } = require('node:child_process');
const net = require('node:net');

function ip(args) {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function tryRun(bin, args) {
  try {
    execFileSync(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    return true;
  } catch {
    return false;
  }
}

function relay(port, hostAddr) {
  const server = net.createServer((inbound) => {
    const outbound = net.connect({ host: '127.0.0.1', port });
    inbound.pipe(outbound).pipe(inbound);
    const end = () => (inbound.destroy(), outbound.destroy());
    inbound.on('error', end);
    outbound.on('error', end);
    inbound.on('close', end);
    outbound.on('close', end);
  });
  server.listen(port, hostAddr);
  return server;
}

/**
 * @param {{ redis: number[], db: number[] }} ports service ports on 127.0.0.1, reached from the
 *   namespace over their own link each, so Redis and MariaDB can be cut separately
 */
function createHost(ports) {
  const n = 100 + Math.floor(Math.random() * 150);
  const name = `sbdrill${n}`;
  const link = (tag, net3) => ({ host: `sb${tag}${n}a`, ns: `sb${tag}${n}b`, hostAddr: `10.${net3}.${n}.1`, nsAddr: `10.${net3}.${n}.2` });
  const links = { front: link('f', 213), redis: link('r', 214), db: link('d', 215) };
  ip(['netns', 'add', name]);
  for (const l of Object.values(links)) {
    ip(['link', 'add', l.host, 'type', 'veth', 'peer', 'name', l.ns]);
    ip(['link', 'set', l.ns, 'netns', name]);
    ip(['addr', 'add', `${l.hostAddr}/24`, 'dev', l.host]);
    ip(['link', 'set', l.host, 'up']);
    ip(['netns', 'exec', name, 'ip', 'addr', 'add', `${l.nsAddr}/24`, 'dev', l.ns]);
    ip(['netns', 'exec', name, 'ip', 'link', 'set', l.ns, 'up']);
  }
  ip(['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
  const relays = [...ports.redis.map((p) => relay(p, links.redis.hostAddr)), ...ports.db.map((p) => relay(p, links.db.hostAddr))];
  /** @type {Record<string, boolean>} */
  const netem = {};
  return {
    name,
    links,
    /** Cuts one link: the api in the namespace loses Redis or MariaDB. Returns how. */
    cut(which) {
      const dev = links[which].host;
      netem[which] = tryRun('tc', ['qdisc', 'add', 'dev', dev, 'root', 'netem', 'loss', '100%']);
      if (!netem[which]) ip(['link', 'set', dev, 'down']);
      return netem[which] ? 'tc netem loss 100%' : 'ip link set down';
    },
    heal(which) {
      const dev = links[which].host;
      if (netem[which]) tryRun('tc', ['qdisc', 'del', 'dev', dev, 'root']);
      else ip(['link', 'set', dev, 'up']);
    },
    destroy() {
      for (const r of relays) r.close();
      for (const l of Object.values(links)) tryRun('ip', ['link', 'del', l.host]);
      tryRun('ip', ['netns', 'del', name]);
    },
  };
}

module.exports = { createHost };
