import { randomUUID } from 'node:crypto';
import { runCli } from './api-process';
import { HttpClient, TestUser } from './http-client';

/** An admin made the operator's way (bin/switchboard user:create --admin), logged in on `baseUrl`. */
export async function createAdmin(baseUrl: string): Promise<TestUser> {
  const email = `admin-${randomUUID().slice(0, 12)}@example.test`;
  const password = 'admin-password-1';
  const r = await runCli(['user:create', `--email=${email}`, `--password=${password}`, '--name=Admin', '--admin']);
  if (r.code !== 0) throw new Error(`user:create failed: ${r.stderr}`);
  const client = new HttpClient(baseUrl);
  const res = await client.post('/api/auth/login', { email, password });
  if (res.status !== 200) throw new Error(`admin login failed: ${res.status} ${res.text}`);
  return { id: (res.body as { id: number }).id, email, password, client };
}
