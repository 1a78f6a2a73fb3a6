// @ts-check
'use strict';
/**
 * A small HTTP client on node:http, because the drills need what fetch cannot give: a chosen
 * source address per client (nginx spreads clients by their address, and the api counts
 * connections per address) and a keep-alive agent per simulated user.
 */
const http = require('node:http');

/**
 * @param {string} base e.g. http://127.0.0.1:3000
 * @param {{ method?: string, path: string, body?: unknown, token?: string, cookie?: string, localAddress?: string, agent?: http.Agent, timeoutMs?: number, headers?: Record<string,string> }} opts
 * @returns {Promise<{ status: number, body: any, headers: http.IncomingHttpHeaders }>}
 */
function request(base, opts) {
  const url = new URL(opts.path, base);
  const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
  /** @type {Record<string,string>} */
  const headers = { accept: 'application/json', ...opts.headers };
  if (payload) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(payload.length);
  }
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.cookie) {
    headers.cookie = opts.cookie;
    headers.origin = 'http://localhost:3000';
  }
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method: opts.method ?? 'GET', headers, localAddress: opts.localAddress, agent: opts.agent },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body = text;
          try {
            body = text ? JSON.parse(text) : null;
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, body, headers: res.headers });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(opts.timeoutMs ?? 30000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/** Client i's own loopback address (nginx hashes the whole address; the third octet varies first, as nginx's old ip_hash needed). */
function clientAddress(i) {
  return `127.0.${1 + (i % 250)}.${1 + Math.floor(i / 250) % 250}`;
}

module.exports = { request, clientAddress };
