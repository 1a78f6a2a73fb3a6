'use strict';
/** The drain-race lab's clients: CONC loops of keep-alive requests through nginx (70 % POSTs) for DUR_S seconds, from 60 loopback addresses. */
const http = require('node:http');
const DUR = +process.env.DUR_S * 1000; const CONC = +process.env.CONC;
const agents = Array.from({ length: 60 }, () => new http.Agent({ keepAlive: true, maxSockets: 4 }));
const stats = {};
const end = Date.now() + DUR;
async function one(i) {
  while (Date.now() < end) {
    const a = i % 60; const post = Math.random() < 0.7;
    const r = await new Promise((resolve) => {
      const req = http.request({ host: '127.0.0.1', port: +process.env.LAB_PORT, path: post ? '/w' : '/r', method: post ? 'POST' : 'GET', agent: agents[a], localAddress: `127.0.${1 + a}.9`, headers: post ? { 'content-type': 'text/plain', 'content-length': 2 } : {} }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
      req.on('error', (e) => resolve('err ' + e.code)); if (post) req.write('hi'); req.end();
    });
    const k = (post ? 'POST ' : 'GET ') + r; stats[k] = (stats[k] ?? 0) + 1;
  }
}
Promise.all(Array.from({ length: CONC }, (_, i) => one(i))).then(() => console.log(JSON.stringify(stats)));
