// @ts-check
'use strict';
/** Where a V8 .cpuprofile's samples fell (bench:setup's --cpu-prof, bench:scale's --storm-prof). */

/** Whether a script URL is ours (the checkout's dist/), not a package's own dist/ (socket.io/dist/...). */
const isOurs = (url) => url.includes('/dist/') && !url.includes('/node_modules/');

/** The package (or our dist/ file) a script URL belongs to, as summarize() names it. */
function areaOf(url) {
  if (!url) return null;
  // The innermost package (socket.io may sit under @nestjs/platform-socket.io/node_modules).
  const nm = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  const ours = /\/dist\/(.*)$/.exec(url);
  if (ours) return `ours ${ours[1]}`;
  if (url.startsWith('node:')) return 'node internals';
  return url;
}

/** Where a profile's samples fell: by function (self), by package or file (self), by our function (inclusive). */
function summarize(profile, sockets) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const sampleUs = new Map();
  // timeDeltas[i] is the time before sample i: it is charged to the sample that ends it.
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    sampleUs.set(id, (sampleUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  }
  const area = areaOf;
  const self = new Map();
  const areas = new Map();
  const inclusive = new Map();
  let total = 0;
  for (const [id, us] of sampleUs) {
    const n = byId.get(id);
    const cf = n.callFrame;
    if (cf.functionName === '(idle)') continue;
    total += us;
    const key = `${cf.functionName || '(anonymous)'} ${area(cf.url) ?? ''}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + us);
    const a = area(cf.url) ?? cf.functionName;
    areas.set(a, (areas.get(a) ?? 0) + us);
    // Inclusive time of our own functions: each function once per sample, however deep it recursed.
    const seen = new Set();
    for (let p = id; p !== undefined; p = parent.get(p)) {
      const f = byId.get(p).callFrame;
      if (!isOurs(f.url)) continue;
      const k = `${f.functionName || '(anonymous)'} ${area(f.url)}:${f.lineNumber + 1}`;
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    }
  }
  const top = (m, n) =>
    [...m.entries()]
      .sort((x, y) => y[1] - x[1])
      .slice(0, n)
      .map(([what, us]) => ({ what, usPerSocket: +(us / sockets).toFixed(1), pct: +((100 * us) / total).toFixed(1) }));
  return { busyUsPerSocket: +(total / sockets).toFixed(0), areas: top(areas, 20), self: top(self, 30), oursInclusive: top(inclusive, 30) };
}

module.exports = { isOurs, areaOf, summarize };
