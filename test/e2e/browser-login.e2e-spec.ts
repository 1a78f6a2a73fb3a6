import { Browser, chromium } from 'playwright-core';
import { createAdmin } from '../support/admin';
import { ApiProcess, startApi } from '../support/api-process';
import { chromiumPath } from '../support/chromium';
import { registerUser, TestUser } from '../support/http-client';

jest.setTimeout(180_000);

/** An admin signs in from the browser (no cookie injected by hand) and reaches /status and /admin/queues. */
describe('browser sign-in for /status and /admin/queues', () => {
  let api: ApiProcess;
  let browser: Browser;
  let admin: TestUser;

  beforeAll(async () => {
    api = await startApi();
    admin = await createAdmin(api.url);
    browser = await chromium.launch({ executablePath: await chromiumPath(), args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  }, 600_000);
  afterAll(async () => {
    await browser?.close();
    await api?.stop();
  });

  it('sends a browser without a session to /login and back to the page it asked for, then opens the queue board', async () => {
    const page = await (await browser.newContext()).newPage();
    const foreign: string[] = [];
    page.on('request', (r) => void (new URL(r.url()).origin !== new URL(api.url).origin && foreign.push(r.url())));
    await page.goto(`${api.url}/status`);
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(new URL(page.url()).searchParams.get('next')).toBe('/status');
    await page.fill('input[name=email]', admin.email);
    await page.fill('input[name=password]', 'wrong-password-1');
    await page.click('button[type=submit]');
    await page.waitForSelector('#error:not(:empty)');
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.fill('input[name=password]', admin.password);
    await page.click('button[type=submit]');
    await page.waitForURL(`${api.url}/status`);
    expect(await page.title()).toMatch(/status/i);
    // The sign-in page and /status load nothing from other hosts (Bull Board's own page asks Google Fonts; not ours to change here).
    expect(foreign).toEqual([]);
    const board = await page.goto(`${api.url}/admin/queues`);
    expect(board?.status()).toBe(200);
    expect(await page.content()).toMatch(/bull/i);
  });

  it('keeps API clients on 401 JSON, and refuses a return address off the site', async () => {
    expect((await fetch(`${api.url}/status`)).status).toBe(401);
    expect((await fetch(`${api.url}/admin/queues`, { headers: { accept: 'application/json' } })).status).toBe(401);
    const redirected = await fetch(`${api.url}/admin/queues`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    expect(redirected.status).toBe(302);
    expect(redirected.headers.get('location')).toBe('/login?next=%2Fadmin%2Fqueues');
    const page = await (await fetch(`${api.url}/login?next=//evil.example/x`)).text();
    expect(page).toContain('data-next="/status"');
    const user: TestUser = await registerUser(api.url);
    expect((await user.client.get('/status')).status).toBe(403);
  });
});
