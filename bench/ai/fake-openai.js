'use strict';
/**
 * A fake OpenAI-compatible chat completions server on 127.0.0.1, for the AI
 * e2e tests and bench/ai. Node builtins only.
 *
 *   const fake = await startFakeOpenAi({ latencyMs: 300 });
 *   fake.url              -> 'http://127.0.0.1:<port>/v1' (use as openai-compatible:<url>)
 *   fake.stats()          -> { calls, inFlight, maxInFlight, requests: [{ model, authorization, messages }] }
 *   fake.set({ mode, latencyMs })   mode: 'ok' | 'error' (HTTP 500) | 'hang' (never answers) | 'malformed'
 *   fake.reset()          zero the counters
 *   await fake.close()
 *
 * Answers are `fake answer to: <last user message>`, so callers can tell
 * which server produced an answer.
 */
const http = require('node:http');

function startFakeOpenAi(opts = {}) {
  const state = { mode: opts.mode || 'ok', latencyMs: opts.latencyMs || 0 };
  let calls = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let requests = [];
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST' || !/\/chat\/completions$/.test(req.url || '')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'not found' } }));
      return;
    }
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      calls += 1;
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      let body = {};
      try {
        body = JSON.parse(raw);
      } catch {
        // recorded as empty
      }
      const messages = Array.isArray(body.messages) ? body.messages : [];
      requests.push({ model: body.model, authorization: req.headers.authorization, messages });
      const done = () => {
        inFlight -= 1;
      };
      if (state.mode === 'hang') {
        res.on('close', done);
        return;
      }
      setTimeout(() => {
        done();
        if (state.mode === 'error') {
          res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'upstream exploded' } }));
          return;
        }
        if (state.mode === 'malformed') {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"choices": [');
          return;
        }
        const user = [...messages].reverse().find((m) => m && m.role === 'user');
        const content = `fake answer to: ${user ? String(user.content) : ''}`;
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            id: `chatcmpl-${calls}`,
            object: 'chat.completion',
            created: Math.floor(Date.now() / 1000),
            model: body.model,
            choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
            usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
          }),
        );
      }, state.latencyMs);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port || 0, '127.0.0.1', () => {
      const port = server.address().port;
      resolve({
        port,
        url: `http://127.0.0.1:${port}/v1`,
        stats: () => ({ calls, inFlight, maxInFlight, requests: requests.slice() }),
        set: (next) => Object.assign(state, next),
        reset: () => {
          calls = 0;
          maxInFlight = inFlight;
          requests = [];
        },
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

module.exports = { startFakeOpenAi };

if (require.main === module) {
  const arg = (name, def) => {
    const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
    return hit ? hit.slice(name.length + 3) : def;
  };
  startFakeOpenAi({ port: Number(arg('port', '0')), latencyMs: Number(arg('latency', '0')), mode: arg('mode', 'ok') }).then((fake) => {
    process.stdout.write(`${fake.url}\n`);
  });
}
