// Allocation-sampling profile (sample.js) summarised: bytes per unit (pass the seconds sampled) by function,
// and by the innermost frame of dist/:  node profile-summary.js profile.json seconds [top]
const p = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
const div = Number(process.argv[3] || 1), top = Number(process.argv[4] || 40);
const self = new Map(), incl = new Map();
let total = 0;
function walk(n, stack) {
  const f = n.callFrame; const key = `${f.functionName || '(anon)'} ${f.url.replace(/^.*node_modules\//, '~/').replace(/^.*?\/dist\//, 'dist/')}:${f.lineNumber + 1}`;
  const sz = n.selfSize; total += sz;
  if (sz) self.set(key, (self.get(key) || 0) + sz);
  const st = [...stack, key];
  // attribute to first frame in dist/ (ours) from the top
  if (sz) { const ours = [...st].reverse().find((k) => / dist\//.test(k)) || '(no dist frame)'; incl.set(ours, (incl.get(ours) || 0) + sz); }
  for (const c of n.children) walk(c, st);
}
walk(p.head, []);
console.log(`total ${(total / div / 1024).toFixed(1)} KB per unit`);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(v / div / 1024).toFixed(2).padStart(8)} KB  ${k}`);
console.log('--- by innermost dist/ frame');
for (const [k, v] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(v / div / 1024).toFixed(2).padStart(8)} KB  ${k}`);
