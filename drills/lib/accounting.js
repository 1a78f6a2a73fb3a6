// @ts-check
'use strict';
/**
 * Per-client counting, the heart of every drill: from what one client received (event ids and the
 * publish each chat message came from) and the publish log, how many events it should have had,
 * got live, got replayed after a reconnect, was told to refetch (`recovered:false` / SSE `gap`),
 * got twice, or lost without being told (silent: the one thing that must never happen).
 *
 * A publish is `[seq, roomId, sentAt, ackedAt]` (acknowledged by the api: 201 or `ok:true`).
 * A client must have every publish to its room sent after it joined and acknowledged before `until`.
 */

/** Latency histogram: 1 ms buckets to 1 s, 10 ms to 10 s, 100 ms beyond. */
function bucketOf(ms) {
  if (ms < 0) return 0;
  if (ms < 1000) return Math.floor(ms);
  if (ms < 10000) return 1000 + Math.floor((ms - 1000) / 10) * 10;
  return 10000 + Math.floor((ms - 10000) / 100) * 100;
}

function addTo(hist, ms) {
  const b = bucketOf(ms);
  hist[b] = (hist[b] ?? 0) + 1;
}

function mergeHist(into, from) {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  return into;
}

/** The q-quantile (0..1) of a histogram, in ms. */
function quantile(hist, q) {
  const entries = Object.entries(hist)
    .map(([k, v]) => [Number(k), v])
    .sort((a, b) => a[0] - b[0]);
  const total = entries.reduce((s, [, v]) => s + v, 0);
  if (!total) return null;
  let seen = 0;
  for (const [k, v] of entries) {
    seen += v;
    if (seen >= q * total) return k;
  }
  return entries[entries.length - 1][0];
}

/** Was the client connected at time t? (connects and disconnects alternate, in time order) */
function connectedAt(c, t) {
  let last = null;
  for (const [ct] of c.connects) if (ct <= t && (last === null || ct > last)) last = ct;
  if (last === null) return false;
  return !c.disconnects.some(([dt]) => dt >= last && dt <= t);
}

/**
 * @param {{ key: string, kind: string, nsp: string, room: any, joinedAt: number, connects: [number, boolean, number?][], disconnects: [number, string][], seqs: Map<number, number>, dupIds: number, latencies: [number, number][], connected: boolean }} c
 *   latencies here are [latencyMs, receivedAt] pairs
 * @param {[number, number, number, number][]} published
 * @param {number} until
 * @param {[number, number] | null} [window] the fault's time window, for the latency during it
 */
/** "<ms> <step>" lines with times as +ms from the first. */
function relativeTrace(trace) {
  const t0 = Number(trace[0].split(' ')[0]);
  return trace.map((line) => {
    const i = line.indexOf(' ');
    return `+${Number(line.slice(0, i)) - t0} ${line.slice(i + 1)}`;
  });
}

function countClient(c, published, until, window = null) {
  const reconnects = c.connects.slice(1);
  const r = {
    key: c.key,
    kind: c.kind,
    nsp: c.nsp,
    joined: c.joinedAt > 0,
    connectedAtEnd: c.connected,
    // Not back at the end: why it left last, and whether Socket.IO itself is connected (then the server
    // never sent `connected`: a set-up that neither finished nor failed).
    stuck: c.connected ? null : `${c.disconnects.at(-1)?.[1] ?? 'never connected'}${c.transportConnected ? ' (socket.io connected, no `connected` event)' : ''}`,
    // Its last Manager/Socket steps (client-worker.js), relative to the first of them.
    trace: c.connected || !c.trace?.length ? undefined : relativeTrace(c.trace),
    reconnects: reconnects.length,
    recoveredTrue: reconnects.filter(([, rec]) => rec).length,
    recoveredFalse: reconnects.filter(([, rec]) => !rec).length,
    expected: 0,
    delivered: 0,
    recovered: 0,
    refetch: 0,
    stranded: 0,
    silentMissing: 0,
    duplicates: c.dupIds,
    silentSeqs: /** @type {number[]} */ ([]),
    latency: /** @type {Record<string, number>} */ ({}),
    latencyInWindow: /** @type {Record<string, number>} */ ({}),
  };
  for (const [ms, at] of c.latencies) {
    const sentAt = at - ms;
    // Live deliveries only: a replayed event's age is the time the client was away.
    if (!connectedAt(c, sentAt)) continue;
    addTo(r.latency, ms);
    if (window && sentAt >= window[0] && sentAt <= window[1]) addTo(r.latencyInWindow, ms);
  }
  if (!c.joinedAt || (c.nsp !== '/chat' && c.kind !== 'sse')) return r;
  for (const [seq, room, sentAt, ackedAt] of published) {
    if (room !== c.room || sentAt <= c.joinedAt || ackedAt > until) continue;
    r.expected++;
    const got = c.seqs.get(seq) ?? 0;
    if (got > 0) {
      r.delivered++;
      if (!connectedAt(c, sentAt)) r.recovered++;
      continue;
    }
    // Told to refetch after it was sent: the refetch follows the re-join (its ack time, when it rejoined).
    if (reconnects.some(([t, rec, rejoinedAt]) => !rec && (rejoinedAt ?? t) > sentAt)) r.refetch++;
    else if (!c.connected) r.stranded++;
    else {
      r.silentMissing++;
      if (r.silentSeqs.length < 20) r.silentSeqs.push(seq);
      // When, against the fault window's start (or the first publish): what was sent, acknowledged, and this client's (re)connects.
      const t0 = window ? window[0] : published[0]?.[2] ?? 0;
      if (!r.silentTimes) r.silentTimes = { connects: c.connects.map(([t, rec, rejoined]) => `${t - t0}${rec ? '' : ' refetch'}${rejoined ? ` rejoined ${rejoined - t0}` : ''}`), joinedAt: c.joinedAt - t0, seqs: [] };
      if (r.silentTimes.seqs.length < 5) r.silentTimes.seqs.push({ seq, sentAt: sentAt - t0, ackedAt: ackedAt - t0 });
    }
  }
  return r;
}

/** Sums the per-client results into the drill's figures. */
function summarize(results) {
  const sum = (f) => results.reduce((s, r) => s + f(r), 0);
  const latency = results.reduce((h, r) => mergeHist(h, r.latency), {});
  const inWindow = results.reduce((h, r) => mergeHist(h, r.latencyInWindow), {});
  const reconnected = results.filter((r) => r.reconnects > 0);
  return {
    clients: results.length,
    joined: sum((r) => (r.joined ? 1 : 0)),
    connectedAtEnd: sum((r) => (r.connectedAtEnd ? 1 : 0)),
    clientsReconnected: reconnected.length,
    reconnects: sum((r) => r.reconnects),
    recoveredTrue: sum((r) => r.recoveredTrue),
    recoveredFalse: sum((r) => r.recoveredFalse),
    expected: sum((r) => r.expected),
    delivered: sum((r) => r.delivered),
    recoveredEvents: sum((r) => r.recovered),
    refetch: sum((r) => r.refetch),
    stranded: sum((r) => r.stranded),
    silentMissing: sum((r) => r.silentMissing),
    duplicates: sum((r) => r.duplicates),
    silentExamples: results.filter((r) => r.silentMissing).slice(0, 3).map((r) => ({ key: r.key, seqs: r.silentSeqs, times: r.silentTimes })),
    // One publish missing for many clients is a server-side loss; many publishes one each, a client's own window.
    silentDistinct: new Set(results.flatMap((r) => r.silentSeqs)).size,
    stuckTraces: results.filter((r) => r.trace).slice(0, 4).map((r) => ({ key: r.key, trace: r.trace })),
    stuckReasons: results.reduce((acc, r) => (r.stuck ? { ...acc, [r.stuck]: (acc[r.stuck] ?? 0) + 1 } : acc), /** @type {Record<string, number>} */ ({})),
    latencyMs: { p50: quantile(latency, 0.5), p99: quantile(latency, 0.99), max: quantile(latency, 1) },
    latencyDuringFaultMs: { p50: quantile(inWindow, 0.5), p99: quantile(inWindow, 0.99), max: quantile(inWindow, 1) },
  };
}

/** Reconnect times -> the busiest second, and how long the reconnects were spread over. */
function reconnectSpread(times) {
  if (!times.length) return { peakPerSecond: 0, spreadMs: 0 };
  const perSecond = new Map();
  for (const t of times) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
  const sorted = [...times].sort((a, b) => a - b);
  return { peakPerSecond: Math.max(...perSecond.values()), spreadMs: sorted[sorted.length - 1] - sorted[0] };
}

module.exports = { countClient, summarize, reconnectSpread, quantile, mergeHist, connectedAt };
