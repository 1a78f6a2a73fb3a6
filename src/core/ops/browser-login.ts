import type { INestApplication } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { QUEUE_BOARD_PATH } from '../queue/queue-board.module';

/** Pages an admin opens in a browser: without a session they go to /login and come back. */
/** Pages a browser opens: without a session it is sent to /login (ApiModule applies browserPagesRedirect to them). */
export const BROWSER_PAGES = ['/status', QUEUE_BOARD_PATH];

/** Only a local path may be the return address: `//host` and `/\host` would leave the site. */
export function safeNext(raw: unknown): string {
  return typeof raw === 'string' && /^\/(?![/\\])[\x21-\x7e]*$/.test(raw) && raw.length <= 200 ? raw : '/status';
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The sign-in page: one form, inline script and style, nothing loaded from anywhere else. */
export function loginPage(next: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Sign in · Switchboard</title>
<style>body{font:15px system-ui,sans-serif;display:grid;place-items:center;min-height:90vh;background:#f5f5f5}
form{background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002;display:grid;gap:.75rem;width:18rem}
input,button{font:inherit;padding:.5rem}#error{color:#b00020;min-height:1.2em}</style></head>
<body><form id="login" data-next="${esc(next)}">
<h1>Switchboard</h1>
<label>Email <input name="email" type="email" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button><div id="error" role="alert"></div>
</form>
<script>
document.getElementById('login').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.target;
  const error = document.getElementById('error');
  error.textContent = '';
  const res = await fetch('/api/auth/login', {
    method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: form.email.value, password: form.password.value }),
  });
  if (res.ok) { location.assign(form.dataset.next); return; }
  const body = await res.json().catch(() => ({}));
  error.textContent = res.status === 429 ? 'Too many attempts; wait a minute.' : [].concat(body.message || 'Sign-in failed').join(' ');
});
</script></body></html>`;
}

/**
 * `/login` for browsers. The redirect to it from /status and /admin/queues
 * (browserPagesRedirect) is module middleware, after the request pipeline.
 */
export function setupBrowserLogin(app: INestApplication): void {
  const http = app.getHttpAdapter();
  http.get('/login', (req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Security-Policy', "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'self'");
    res.type('html').send(loginPage(safeNext(req.query.next)));
  });
}

/** A browser GET without a caller goes to /login; API clients keep their 401 JSON. Runs after the request pipeline. */
export function browserPagesRedirect(req: Request, res: Response, next: NextFunction): void {
  if (req.principal || req.method !== 'GET' || !req.accepts(['json', 'html']) || req.accepts(['json', 'html']) === 'json') return next();
  res.redirect(302, `/login?next=${encodeURIComponent(req.originalUrl)}`);
}
