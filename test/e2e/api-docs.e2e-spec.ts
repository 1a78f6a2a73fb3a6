import { spawnSync } from 'node:child_process';
import { Browser, chromium } from 'playwright-core';
import { ApiProcess, ROOT, startApi } from '../support/api-process';
import { chromiumPath } from '../support/chromium';

jest.setTimeout(120_000);

/** The validator is an ES module: it runs in a child Node (the same runtime), the document on stdin. */
function validateOpenApi(doc: unknown): { valid: boolean; errors?: unknown; version?: string } {
  const script = `
    import('@seriousme/openapi-schema-validator').then(async ({ Validator }) => {
      let text = '';
      for await (const chunk of process.stdin) text += chunk;
      const v = new Validator();
      const r = await v.validate(JSON.parse(text));
      process.stdout.write(JSON.stringify({ ...r, version: v.version }));
    });`;
  const r = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, input: JSON.stringify(doc), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as { valid: boolean; errors?: unknown; version?: string };
}

/** Nest's own list of what it routes ("Mapped {/path, METHOD} route" at start-up), as OpenAPI path + method. */
function mappedRoutes(logs: string): string[] {
  const out = new Set<string>();
  for (const m of logs.matchAll(/Mapped \{([^,}]+), ([A-Z]+)\} route/g)) out.add(`${m[2].toLowerCase()} ${m[1].replace(/:(\w+)/g, '{$1}')}`);
  return [...out];
}

describe('the API describes itself (OpenAPI 3.1 at /docs)', () => {
  let api: ApiProcess;
  let doc: { openapi: string; paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>>; components: { securitySchemes: Record<string, unknown> } };

  beforeAll(async () => {
    api = await startApi({ LOG_LEVEL: 'info' });
    const res = await fetch(`${api.url}/docs/openapi.json`);
    expect(res.status).toBe(200);
    doc = (await res.json()) as typeof doc;
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('serves a document that validates as OpenAPI 3.1', () => {
    expect(doc.openapi).toBe('3.1.0');
    const r = validateOpenApi(doc);
    expect(r.errors).toBeUndefined();
    expect(r.valid).toBe(true);
    expect(r.version).toBe('3.1');
  });

  it('lists every route Nest maps, with both auth schemes and the error shape', () => {
    const routes = mappedRoutes(api.logs());
    expect(routes.length).toBeGreaterThan(30);
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`)));
    expect(routes.filter((r) => !documented.has(r))).toEqual([]);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['bearer', 'cookie']);
    const me = doc.paths['/api/auth/me'].get;
    expect(me.security).toEqual([{ cookie: [] }, { bearer: [] }]);
    expect(me.responses['401']).toBeDefined();
    expect(doc.paths['/api/realtime/stats'].get.responses['403']).toBeDefined();
    expect(doc.paths['/api/chat/rooms/{id}/messages'].post.responses['400']).toBeDefined();
    expect(doc.paths['/up'].get.security).toContainEqual({});
    const body = doc.paths['/api/auth/register'].post as unknown as { requestBody: { content: Record<string, { schema: { $ref: string } }> } };
    const ref = body.requestBody.content['application/json'].schema.$ref.split('/').pop() as string;
    const schema = (doc.components as unknown as { schemas: Record<string, { properties: Record<string, unknown>; required: string[] }> }).schemas[ref];
    expect(Object.keys(schema.properties).sort()).toEqual(['email', 'name', 'password']);
  });

  it('renders /docs in Chromium from this process alone: no font, script or style from another host', async () => {
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({ executablePath: await chromiumPath(), args: ['--no-sandbox', '--disable-dev-shm-usage'] });
      const page = await browser.newPage();
      const foreign: string[] = [];
      await page.route('**/*', (route) => {
        const url = new URL(route.request().url());
        if (url.origin !== new URL(api.url).origin) {
          foreign.push(url.href);
          return route.abort();
        }
        return route.continue();
      });
      await page.goto(`${api.url}/docs`);
      await page.waitForSelector('.opblock', { timeout: 30000 });
      expect(await page.locator('.opblock').count()).toBeGreaterThan(30);
      expect(foreign).toEqual([]);
    } finally {
      await browser?.close();
    }
  });
});
