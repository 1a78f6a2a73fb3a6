// Ours minus stock, per retainer-diff.js row: node compare-diffs.js ours.txt stock.txt [top]
const fs=require('fs');
const load=(f)=>{const m=new Map();for(const l of fs.readFileSync(f,'utf8').split('\n')){const r=/^\s*(-?[\d.]+) B\s+(-?[\d.]+) {2}(.*)$/.exec(l);if(r)m.set(r[3],[+r[1],+r[2]]);}return m;};
const a=load(process.argv[2]),b=load(process.argv[3]);const rows=[];
for(const[k,v]of a){const u=b.get(k)||[0,0];rows.push([k,v[0]-u[0],v[1]-u[1],v[0],u[0]]);}
for(const[k,u]of b)if(!a.has(k))rows.push([k,-u[0],-u[1],0,u[0]]);
rows.sort((p,q)=>Math.abs(q[1])-Math.abs(p[1]));let t=0;for(const r of rows)t+=r[1];console.log('total diff',t.toFixed(0));
for(const r of rows.slice(0,Number(process.argv[4]||80)))console.log(`${r[1].toFixed(1).padStart(8)} (${r[3].toFixed(0)} vs ${r[4].toFixed(0)}) ${r[2].toFixed(2).padStart(6)}  ${r[0]}`);
