// @ts-check
'use strict';
/**
 * api-kill: `kill -9` of one api process under load (with nginx's address hash and spread client addresses it
 * holds about a third of the sockets). Nothing may be lost silently; every client must be served
 * again (figure: ms from the kill until every client is connected), recovered with what it missed.
 */
const { Load, sleep } = require('../lib/load');
const { apiUp, loadGuarantees } = require('../lib/checks');

async function run({ cluster, opts, log }) {
  const load = new Load(cluster.url, { clients: opts.clients ?? 1000, rate: opts.rate ?? 100, log });
  try {
    await load.start();
    await sleep(5000);
    const port = cluster.apiPorts[0];
    const program = cluster.apiProgram(port);
    const pid = await cluster.pidOf(program);
    const before = await load.connected();
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    log(`SIGKILL to api ${port} (pid ${pid}); ${before.connected}/${before.total} clients connected`);
    // First the clients must notice (their connections close), then all must be back.
    const deadline = Date.now() + 10000;
    while (Date.now() < deadline && (await load.connected()).connected === before.total) await sleep(50);
    const servedAgainMs = await load.allConnected(killedAt, 120000);
    log(`every client connected again after ${servedAgainMs} ms`);
    await apiUp(port, 120000);
    const restartedMs = Date.now() - killedAt;
    await sleep(5000);
    const figures = await load.stop({ window: [killedAt, killedAt + (servedAgainMs ?? 60000)] });
    return {
      figures: { ...figures, killedPort: port, servedAgainMs, restartedMs },
      guarantees: {
        ...loadGuarantees(figures),
        servedAgain: servedAgainMs !== null,
        everySocketRecovered: figures.sockets.recoveredFalse === 0 && figures.sse.recoveredFalse === 0,
        // Sends in flight on the killed process are resent with their clientMessageId (sender-worker.js).
        noLostAcks: figures.socketAcks.lost === 0,
      },
    };
  } finally {
    load.kill();
  }
}

module.exports = { run };
