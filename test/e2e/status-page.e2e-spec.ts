import { testRedis } from '../support/redis';
import { Queue } from 'bullmq';
import { Browser, chromium } from 'playwright-core';
import { createAdmin } from '../support/admin';
import { chromiumPath } from '../support/chromium';
import { ApiProcess, spawnCli, startApi } from '../support/api-process';
import { registerUser } from '../support/http-client';

/** What the page functions read of the DOM (this project's TypeScript has no DOM lib). */
type TextNode = { textContent: string | null };
type Row = { querySelectorAll(selector: 'td'): Iterable<TextNode> };

// The functions passed to page.evaluate run in Chromium; this file is compiled without the DOM lib.
interface PageNode {
  textContent: string | null;
  firstElementChild: PageNode | null;
  children: ArrayLike<PageNode>;
}
declare const document: { querySelector(selector: string): PageNode | null; querySelectorAll(selector: string): Iterable<PageNode> };

/** The operator's status page in the real Debian Chromium, fed by the project's own SSE. */
describe('/status page', () => {
  jest.setTimeout(180000);
  let a: ApiProcess;
  let b: ApiProcess;
  let c: ApiProcess;
  let browser: Browser;

  beforeAll(async () => {
    [a, b] = await Promise.all([startApi({ INSTANCE_ID: 'status-a' }), startApi({ INSTANCE_ID: 'status-b' })]);
    // One more, configured with a third queue (the rates test's own).
    c = await startApi({ INSTANCE_ID: 'status-c', QUEUE_NAMES: 'high,default,rates' });
    browser = await chromium.launch({ executablePath: await chromiumPath(), args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  }, 600_000); // the first run on a fresh machine installs Chromium

  afterAll(async () => {
    await browser?.close();
    await Promise.all([a?.stop(), b?.stop(), c?.stop()]);
  });

  it('is for admins only', async () => {
    expect((await fetch(`${a.url}/status`)).status).toBe(401);
    const user = await registerUser(a.url);
    expect((await user.client.get('/status')).status).toBe(403);
    expect((await user.client.get('/api/performance/stream')).status).toBe(403);
  });

  it('shows every api process, the queues and the replica, and updates live as a job is queued', async () => {
    const admin = await createAdmin(a.url);
    const context = await browser.newContext();
    await context.addCookies([...admin.client.cookies].map(([name, value]) => ({ name, value, url: a.url })));
    const page = await context.newPage();
    await page.goto(`${a.url}/status`);

    await page.waitForSelector('#state[data-live="true"]', { timeout: 30000 });
    // Both processes publish their samples to Redis every 5 s; the page lists them as they appear.
    await page.waitForFunction(
      () => {
        const text = document.querySelector('#processes tbody')?.textContent ?? '';
        return text.includes('status-a') && text.includes('status-b');
      },
      undefined,
      { timeout: 60000 },
    );
    const queueNames = await page.$$eval('#queues tbody tr td:first-child', (tds: TextNode[]) => tds.map((td) => td.textContent));
    expect(queueNames.sort()).toEqual(['default', 'high']);
    const replica = await page.$$eval('#replicas tbody tr td', (tds: TextNode[]) => tds.map((td) => td.textContent));
    expect(replica[1]).toBe('up');
    expect(await page.textContent('#capacity')).toMatch(/^\d+ \/ 3000 connections \(/);

    const delayedOnDefault = () =>
      page.evaluate(() => {
        const row = [...document.querySelectorAll('#queues tbody tr')].find((tr) => tr.firstElementChild?.textContent === 'default');
        return Number(row?.children[3]?.textContent);
      });
    const before = await delayedOnDefault();
    expect(Number.isInteger(before)).toBe(true);
    const queue = new Queue('default', { connection: testRedis('queue') as never, prefix: 'sb:{bull}' });
    const job = await queue.add('status-page-probe', {}, { delay: 3600_000 });
    try {
      await page.waitForFunction(
        (expected) => {
          const row = [...document.querySelectorAll('#queues tbody tr')].find((tr) => tr.firstElementChild?.textContent === 'default');
          return Number(row?.children[3]?.textContent) === expected;
        },
        before + 1,
        { timeout: 30000 },
      );
    } finally {
      await job.remove();
      await queue.close();
      await context.close();
    }
  });

  it('shows jobs per minute and the wait time next to each queue, from the workers', async () => {
    const admin = await createAdmin(a.url);
    const context = await browser.newContext();
    await context.addCookies([...admin.client.cookies].map(([name, value]) => ({ name, value, url: a.url })));
    // A queue of its own (QUEUE_NAMES), so no other suite's jobs count: six jobs wait at least 1.5 s for a worker.
    const queue = new Queue('rates', { connection: testRedis('queue') as never, prefix: 'sb:{bull}' });
    await queue.addBulk(Array.from({ length: 6 }, () => ({ name: 'queue:probe', data: { sleepMs: 0, fail: false } })));
    await new Promise((r) => setTimeout(r, 1500));
    const worker = spawnCli(['queue:work', '--queue=rates', '--name=status-rates', '-q']);
    try {
      const page = await context.newPage();
      await page.goto(`${c.url}/status`);
      const row = await page.waitForFunction(
        () => {
          const tr = [...document.querySelectorAll('#queues tbody tr')].find((r) => r.firstElementChild?.textContent === 'rates');
          const cells = tr ? [...(tr.children as unknown as PageNode[])].map((td) => td.textContent) : [];
          return Number(cells[6]) >= 6 ? cells : false;
        },
        undefined,
        { timeout: 30000 },
      );
      const cells = (await row.jsonValue()) as string[];
      expect(Number(cells[6])).toBe(6);
      expect(Number(cells[7])).toBeGreaterThanOrEqual(1.5);
      expect(Number(cells[8])).toBeGreaterThanOrEqual(Number(cells[7]));
    } finally {
      await worker.stop();
      await queue.obliterate({ force: true });
      await queue.close();
      await context.close();
    }
  });

  it('lists the live workers of the cluster', async () => {
    const admin = await createAdmin(a.url);
    const context = await browser.newContext();
    await context.addCookies([...admin.client.cookies].map(([name, value]) => ({ name, value, url: a.url })));
    const worker = spawnCli(['queue:work', '--queue=high,default', '--name=status-w1', '-q']);
    try {
      const page = await context.newPage();
      await page.goto(`${a.url}/status`);
      await page.waitForFunction(() => (document.querySelector('#workers tbody')?.textContent ?? '').includes('status-w1'), undefined, { timeout: 30000 });
      const row = await page.$$eval('#workers tbody tr', (trs: Row[]) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)).find((cells) => cells[0] === 'status-w1'),
      );
      expect(row?.[2]).toBe(String(worker.pid));
      expect(row?.[3]).toBe('high, default');
    } finally {
      await worker.stop();
      await context.close();
    }
  });
});
