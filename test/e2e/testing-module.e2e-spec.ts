import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { ApiModule } from '../../src/app/api.module';
import { AppConfig } from '../../src/config/app-config';
import { parseEnv } from '../../src/config/env.schema';
import { registerTokenUser, registerUser } from '../support/http-client';
import { stackEnv } from '../support/stack';

/**
 * ApiModule on its own, as a Nest user would test it (no main.ts): the caller
 * is resolved by the request pipeline that ApiModule applies itself (DI), so
 * the AuthGuard sees who is calling. Before, only main.ts mounted it and every
 * guarded route answered 401 here.
 */
describe('ApiModule in Test.createTestingModule', () => {
  let app: INestApplication | undefined;
  let url: string;

  beforeAll(async () => {
    const config = new AppConfig(parseEnv({ ...stackEnv(), NODE_ENV: 'test', LOG_LEVEL: 'warn' }));
    const moduleRef = await Test.createTestingModule({ imports: [ApiModule.register(config)] }).compile();
    app = moduleRef.createNestApplication<NestExpressApplication>({ bodyParser: false, logger: ['error'] });
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  }, 120_000);

  afterAll(async () => {
    await app?.close();
  });

  it('lets a session cookie and a bearer token through the guard, and answers 401 without credentials', async () => {
    const cookie = await registerUser(url, 'testing-module');
    const me = await cookie.client.get<{ id: number }>('/api/auth/me');
    expect([me.status, me.body.id]).toEqual([200, cookie.id]);

    const bearer = await registerTokenUser(url, 'testing-module');
    const projects = await bearer.client.post<{ id: number }>('/api/projects', { name: 'made in a testing module' });
    expect(projects.status).toBe(201);
    expect((await bearer.client.get<{ id: number }[]>('/api/projects')).body.map((p) => p.id)).toContain(projects.body.id);

    expect((await fetch(`${url}/api/auth/me`)).status).toBe(401);
    expect((await bearer.client.get('/api/realtime/stats')).status).toBe(403); // a caller, but not an admin
  });
});
