/**
 * The operator's status page (GET /status, admins). Static HTML; everything on it arrives over
 * SSE from GET /api/performance/stream, so it stays live without polling.
 */
export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Switchboard status</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #1d2330; }
  h1 { font-size: 1.4rem; margin: 0 0 .2rem; }
  h2 { font-size: 1.05rem; margin: 1.6rem 0 .4rem; }
  table { border-collapse: collapse; min-width: 40rem; }
  th, td { text-align: left; padding: .25rem .8rem .25rem 0; border-bottom: 1px solid #e3e6ec; }
  th { font-weight: 600; color: #545b6b; }
  td.num { font-variant-numeric: tabular-nums; }
  #state { color: #545b6b; }
  #state[data-live="true"]::before { content: "● "; color: #1a9a4b; }
  #state[data-live="false"]::before { content: "● "; color: #c0392b; }
  .warn { color: #b26a00; } .crit { color: #c0392b; } .muted { color: #8a90a0; }
</style>
</head>
<body>
<h1>Switchboard status</h1>
<div id="state" data-live="false">connecting…</div>

<h2>Capacity</h2>
<div id="capacity" class="muted">waiting for data</div>

<h2>API processes</h2>
<table id="processes"><thead><tr><th>instance</th><th>pid</th><th>event-loop p99 (ms)</th><th>loop utilisation</th><th>CPU %</th><th>RSS (MB)</th><th>sampled</th></tr></thead><tbody></tbody></table>

<h2>Workers</h2>
<table id="workers"><thead><tr><th>name</th><th>host</th><th>pid</th><th>queues</th><th>started</th><th>done</th><th>failed</th><th>current</th><th>RSS (MB)</th><th>state</th></tr></thead><tbody></tbody></table>

<h2>Queues</h2>
<table id="queues"><thead><tr><th>queue</th><th>waiting</th><th>active</th><th>delayed</th><th>failed</th><th>completed</th><th>jobs/min</th><th>wait avg (s)</th><th>wait max (s)</th></tr></thead><tbody></tbody></table>
<div class="muted">jobs/min and wait: the last minute, summed over the live workers; wait is queued → started.</div>

<h2>Replicas</h2>
<table id="replicas"><thead><tr><th>host</th><th>up</th><th>lag (s)</th><th>state</th></tr></thead><tbody></tbody></table>

<script>
(function () {
  var state = document.getElementById('state');
  function cell(row, text, cls) { var td = document.createElement('td'); td.textContent = text; if (cls) td.className = cls; row.appendChild(td); }
  function fill(id, rows) {
    var body = document.querySelector('#' + id + ' tbody');
    body.textContent = '';
    rows.forEach(function (cells) {
      var tr = document.createElement('tr');
      cells.forEach(function (c) { cell(tr, c[0], c[1]); });
      body.appendChild(tr);
    });
  }
  function render(s) {
    state.dataset.live = 'true';
    state.textContent = 'live — updated ' + new Date(s.at).toLocaleTimeString() + ' by ' + s.answeredBy;
    var cap = document.getElementById('capacity');
    if (s.connections.available) {
      var p = s.connections.percent;
      cap.className = p >= 90 ? 'crit' : p >= 75 ? 'warn' : '';
      cap.textContent = s.connections.total + ' / ' + s.connections.limit + ' connections (' + p + ' %)';
    } else {
      cap.className = 'muted';
      cap.textContent = 'connection figures unavailable: ' + s.connections.reason;
    }
    fill('processes', s.processes.map(function (p) {
      return [[p.instance], [String(p.pid), 'num'], [p.eventLoopP99Ms.toFixed(1), 'num' + (p.eventLoopP99Ms > 100 ? ' warn' : '')],
        [p.eventLoopUtilization.toFixed(3), 'num'], [p.cpuPercent.toFixed(1), 'num'], [(p.rssBytes / 1048576).toFixed(0), 'num'],
        [new Date(p.sampledAt).toLocaleTimeString(), 'muted']];
    }));
    fill('workers', (s.workers || []).map(function (w) {
      return [[w.name], [w.host], [String(w.pid), 'num'], [w.queues.join(', ')], [new Date(w.startedAt).toLocaleTimeString(), 'muted'],
        [String(w.processed), 'num'], [String(w.failed), 'num' + (w.failed ? ' warn' : '')], [w.current.join('; ') || '–'],
        [String(w.memoryMb), 'num'], [w.state, w.state === 'running' ? '' : 'warn']];
    }));
    fill('queues', Object.keys(s.queues).map(function (name) {
      var q = s.queues[name];
      if (q.error) return [[name], [q.error, 'crit']];
      var r = (s.rates || {})[name] || { jobsPerMin: 0, waitAvgS: null, waitMaxS: null };
      function secs(v) { return v === null ? '–' : v.toFixed(2); }
      return [[name], [String(q.waiting + (q.prioritized || 0)), 'num'], [String(q.active), 'num'], [String(q.delayed), 'num'],
        [String(q.failed), 'num' + (q.failed ? ' warn' : '')], [String(q.completed), 'num'],
        [String(r.jobsPerMin), 'num'], [secs(r.waitAvgS), 'num'], [secs(r.waitMaxS), 'num' + (r.waitMaxS > 60 ? ' warn' : '')]];
    }));
    fill('replicas', s.replicas.map(function (r) {
      return [[r.host], [r.up ? 'up' : 'DOWN', r.up ? '' : 'crit'], [r.lagSeconds === null ? '–' : String(r.lagSeconds), 'num'],
        [r.inPool ? 'in pool' : r.state, r.inPool ? '' : 'warn']];
    }));
  }
  var source = new EventSource('/api/performance/stream');
  source.addEventListener('status', function (e) { render(JSON.parse(e.data)); });
  source.onerror = function () { state.dataset.live = 'false'; state.textContent = 'reconnecting…'; };
})();
</script>
</body>
</html>
`;
