// @ts-check
'use strict';
/**
 * rolling-deploy: every api process replaced one at a time, as a deploy does it
 * (`supervisorctl restart`: SIGTERM, drain, exit, new process, next one only once the new one
 * answers /up), `--rounds` times (default 2) under load.
 */
const { Load, sleep } = require('../lib/load');
const { apiUp, loadGuarantees } = require('../lib/checks');

async function run({ cluster, opts, log }) {
  const load = new Load(cluster.url, { clients: opts.clients ?? 1000, rate: opts.rate ?? 100, log });
  try {
    await load.start();
    await sleep((opts.warmup ?? 5) * 1000);
    const from = Date.now();
    const rounds = opts.rounds ?? 2;
    const restarts = [];
    for (let round = 0; round < rounds; round++) {
      for (const port of cluster.apiPorts) {
        const program = cluster.apiProgram(port);
        const oldPid = await cluster.pidOf(program);
        const t = Date.now();
        await cluster.ctl(['restart', program], 120000);
        await apiUp(port, 60000);
        const newPid = await cluster.pidOf(program);
        restarts.push({ port, oldPid, newPid, ms: Date.now() - t });
        log(`round ${round + 1}: api ${port} replaced (${oldPid} -> ${newPid}) in ${Date.now() - t} ms`);
      }
    }
    const to = Date.now();
    await sleep(5000);
    const figures = await load.stop({ window: [from, to] });
    return {
      // The herd to compare reconnectsPerSecond with: the clients one restart moves, had they all come back in the same second.
      figures: { ...figures, restarts, rollMs: to - from, movedPerRestart: Math.round((figures.sockets.reconnects + figures.sse.reconnects) / restarts.length) },
      guarantees: {
        ...loadGuarantees(figures),
        noHttpErrors: figures.http.errors === 0,
        everySocketRecovered: figures.sockets.recoveredFalse === 0 && figures.sse.recoveredFalse === 0,
        // A message:send whose ack a restart swallowed is resent with its clientMessageId (sender-worker.js).
        noLostAcks: figures.socketAcks.lost === 0,
      },
    };
  } finally {
    load.kill();
  }
}

module.exports = { run };
