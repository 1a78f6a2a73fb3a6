import { randomUUID } from 'node:crypto';
import { createAdmin } from '../support/admin';
import { ApiProcess, startApi } from '../support/api-process';
import { registerUser, TestUser } from '../support/http-client';

interface Answer {
  answer: string;
  cached: boolean;
  hitCount: number;
}

const ask = async (u: TestUser, query: string) => {
  const res = await u.client.post<Answer>('/api/ai/complete', { query });
  expect(res.status).toBe(200);
  return res.body;
};

/** SPEC §3 AI_CACHE_SCOPE: what the response cache tells one user about the others. */
describe('AI cache scope', () => {
  let shared: ApiProcess;
  let perUser: ApiProcess;

  beforeAll(async () => {
    const prefix = `sbaiscope${Date.now()}`;
    [shared, perUser] = await Promise.all([startApi({ REDIS_PREFIX: `${prefix}g:` }), startApi({ AI_CACHE_SCOPE: 'user', REDIS_PREFIX: `${prefix}u:` })]);
  });
  afterAll(async () => {
    await Promise.all([shared?.stop(), perUser?.stop()]);
  });

  it('global (default): shares answers, but a user is told only their own hits; an admin sees them all', async () => {
    const [ann, bob] = await Promise.all([registerUser(shared.url, 'ann'), registerUser(shared.url, 'bob')]);
    const admin = await createAdmin(shared.url);
    const query = `what is our refund policy ${randomUUID()}`;
    expect(await ask(ann, query)).toMatchObject({ cached: false, hitCount: 0 });
    expect(await ask(ann, query)).toMatchObject({ cached: true, hitCount: 1 });
    expect(await ask(ann, query)).toMatchObject({ cached: true, hitCount: 2 });
    // Bob gets the shared answer, and learns nothing about how often Ann asked.
    expect(await ask(bob, query)).toMatchObject({ cached: true, hitCount: 1 });
    expect(await ask(bob, query)).toMatchObject({ cached: true, hitCount: 2 });
    expect(await ask(admin, query)).toMatchObject({ cached: true, hitCount: 5 });
  });

  it('user: every user has a cache of their own', async () => {
    const [ann, bob] = await Promise.all([registerUser(perUser.url, 'ann'), registerUser(perUser.url, 'bob')]);
    const query = `is the salary review this month ${randomUUID()}`;
    expect(await ask(ann, query)).toMatchObject({ cached: false, hitCount: 0 });
    expect(await ask(ann, query)).toMatchObject({ cached: true, hitCount: 1 });
    expect(await ask(bob, query)).toMatchObject({ cached: false, hitCount: 0 });
    expect(await ask(bob, query)).toMatchObject({ cached: true, hitCount: 1 });
  });
});
