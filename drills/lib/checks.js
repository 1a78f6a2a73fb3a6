// @ts-check
'use strict';
const { sleep } = require('./load');

/** Waits until an api process answers /up 200 on its own port. */
async function apiUp(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await fetch(`http://127.0.0.1:${port}/up`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
    if (r?.status === 200) return;
    await sleep(200);
  }
  throw new Error(`api on ${port} did not answer /up 200 within ${timeoutMs} ms`);
}

/** What every drill promises about the clients: nothing lost silently, nothing twice, everybody back. */
function loadGuarantees(f) {
  return {
    noSilentLoss: f.sockets.silentMissing === 0 && f.sse.silentMissing === 0,
    noDuplicates: f.sockets.duplicates === 0 && f.sse.duplicates === 0,
    everyClientBack: f.clientsBackAfterMs !== null && f.sockets.stranded === 0 && f.sse.stranded === 0,
    everyClientJoined: f.sockets.joined === f.sockets.clients && f.sse.joined === f.sse.clients,
  };
}

module.exports = { apiUp, loadGuarantees };
