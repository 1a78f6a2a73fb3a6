// Self bytes per socket by node and its first retainers, between two heap snapshots; compare two such
// outputs (ours, stock) with compare-diffs.js:
//   node retainer-diff.js before.heapsnapshot after.heapsnapshot N [depth] [top] > ours.txt
const fs = require('node:fs');
const depth = Number(process.argv[5] || 2), top = Number(process.argv[6] || 60), NS = Number(process.argv[4]);
function agg(file) {
  const s = JSON.parse(fs.readFileSync(file, 'utf8'));
  const m = s.snapshot.meta, nf = m.node_fields.length, ef = m.edge_fields.length;
  const types = m.node_types[0], etypes = m.edge_types[0];
  const N = s.nodes, E = s.edges, S = s.strings;
  const count = N.length / nf;
  const ret = new Int32Array(count).fill(-1), retName = new Array(count);
  for (let i = 0, e = 0; i < count; i++) {
    const end = e + N[i * nf + 4] * ef;
    for (; e < end; e += ef) {
      const et = etypes[E[e]]; if (et === 'weak' || et === 'shortcut') continue;
      const to = E[e + 2] / nf; if (ret[to] !== -1) continue;
      ret[to] = i; retName[to] = et === 'element' || et === 'hidden' ? (et === 'element' ? '[]' : `h`) : String(S[E[e + 1]]);
    }
  }
  const lab = (i) => { const t = types[N[i * nf]]; let n = String(S[N[i * nf + 1]]); if (t === 'string' || t === 'concatenated string' || t === 'sliced string' || t === 'number') n = ''; return `${t}:${n.slice(0, 40)}`; };
  const out = new Map();
  for (let i = 0; i < count; i++) {
    let k = lab(i), cur = i;
    for (let d = 0; d < depth && ret[cur] !== -1; d++) { k += ` <-${retName[cur]}- ${lab(ret[cur])}`; cur = ret[cur]; }
    const e = out.get(k) || [0, 0]; e[0]++; e[1] += N[i * nf + 3]; out.set(k, e);
  }
  return out;
}
const a = agg(process.argv[2]), b = agg(process.argv[3]);
const rows = [];
for (const [k, v] of b) { const u = a.get(k) || [0, 0]; rows.push([k, (v[0] - u[0]) / NS, (v[1] - u[1]) / NS]); }
for (const [k, u] of a) if (!b.has(k)) rows.push([k, -u[0] / NS, -u[1] / NS]);
rows.sort((p, q) => q[2] - p[2]);
for (const r of rows.slice(0, top)) console.log(`${r[2].toFixed(1).padStart(8)} B ${r[1].toFixed(2).padStart(6)}  ${r[0]}`);
