// Self bytes per socket by node type and name between two heap snapshots:
//   node heap-diff.js before.heapsnapshot after.heapsnapshot N [top]
const fs = require('node:fs');
function load(f) {
  const s = JSON.parse(fs.readFileSync(f, 'utf8'));
  const m = s.snapshot.meta;
  const nf = m.node_fields.length;
  const types = m.node_types[0];
  const iT = m.node_fields.indexOf('type'), iN = m.node_fields.indexOf('name'), iS = m.node_fields.indexOf('self_size');
  const agg = new Map();
  const strs = new Map();
  const n = s.nodes, str = s.strings;
  for (let i = 0; i < n.length; i += nf) {
    const t = types[n[i + iT]];
    let name = str[n[i + iN]];
    const size = n[i + iS];
    if (t === 'string' || t === 'concatenated string' || t === 'sliced string') {
      const k = name.length > 60 ? name.slice(0, 60) + '…' : name;
      const e = strs.get(k) || [0, 0]; e[0]++; e[1] += size; strs.set(k, e);
      name = '';
    } else if (t === 'number') name = '';
    const key = `${t}:${name.length > 80 ? name.slice(0, 80) : name}`;
    const e = agg.get(key) || [0, 0]; e[0]++; e[1] += size; agg.set(key, e);
  }
  return { agg, strs };
}
const [a, b, N, top] = [load(process.argv[2]), load(process.argv[3]), Number(process.argv[4]), Number(process.argv[5] || 50)];
function diff(x, y) {
  const rows = [];
  for (const [k, v] of y) { const u = x.get(k) || [0, 0]; rows.push([k, (v[0] - u[0]) / N, (v[1] - u[1]) / N]); }
  for (const [k, u] of x) if (!y.has(k)) rows.push([k, -u[0] / N, -u[1] / N]);
  return rows;
}
const rows = diff(a.agg, b.agg).sort((p, q) => q[2] - p[2]);
let tot = 0; for (const r of rows) tot += r[2];
console.log(`total self bytes per socket: ${tot.toFixed(0)}`);
for (const r of rows.slice(0, top)) console.log(`${r[2].toFixed(1).padStart(8)} B  ${r[1].toFixed(2).padStart(6)}/sock  ${r[0]}`);
console.log('--- strings by value (count/sock, bytes/sock)');
const srows = diff(a.strs, b.strs).filter((r) => Math.abs(r[1]) >= 0.3).sort((p, q) => q[2] - p[2]);
for (const r of srows.slice(0, 40)) console.log(`${r[2].toFixed(1).padStart(8)} B  ${r[1].toFixed(2).padStart(6)}/sock  ${JSON.stringify(r[0])}`);
