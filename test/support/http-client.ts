import { randomUUID } from 'node:crypto';

export interface HttpResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** A fetch-based client with one cookie jar (the session cookie) and an optional bearer token. */
export class HttpClient {
  cookies = new Map<string, string>();
  token?: string;

  constructor(public baseUrl: string) {}

  /** The same credentials against another api process. */
  on(baseUrl: string): HttpClient {
    const c = new HttpClient(baseUrl);
    c.cookies = this.cookies;
    c.token = this.token;
    return c;
  }

  get cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResult<T>> {
    const h: Record<string, string> = { ...headers };
    if (this.cookies.size) h.cookie = this.cookieHeader;
    if (this.token && !h.authorization) h.authorization = `Bearer ${this.token}`;
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
    const res = await fetch(this.baseUrl + path, { method, headers: h, body: payload, signal: AbortSignal.timeout(20000) });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i);
      const value = pair.slice(i + 1);
      if (!value || /Expires=Thu, 01 Jan 1970/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON
    }
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  }

  get<T = any>(path: string, headers?: Record<string, string>) {
    return this.request<T>('GET', path, undefined, headers);
  }
  post<T = any>(path: string, body?: unknown, headers?: Record<string, string>) {
    return this.request<T>('POST', path, body, headers);
  }
}

export interface TestUser {
  id: number;
  email: string;
  password: string;
  client: HttpClient;
}

/** Registers a fresh user (unique email) and returns a client holding its session. */
export async function registerUser(baseUrl: string, name = 'user'): Promise<TestUser> {
  const client = new HttpClient(baseUrl);
  const email = `${name}-${randomUUID().slice(0, 12)}@example.test`;
  const password = 'password-123';
  const res = await client.post('/api/auth/register', { email, password, name });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${res.text}`);
  return { id: (res.body as { id: number }).id, email, password, client };
}

/** Same as registerUser, then a bearer token instead of the cookie. */
export async function registerTokenUser(baseUrl: string, name = 'user'): Promise<TestUser> {
  const u = await registerUser(baseUrl, name);
  const res = await u.client.post('/api/auth/token');
  const client = new HttpClient(baseUrl);
  client.token = (res.body as { token: string }).token;
  return { ...u, client };
}

export async function waitFor<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 10000, stepMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
}
