// The baseline for bench/http: a bare NestJS app on the same @nestjs/core, platform-express and
// @nestjs/typeorm, with the same DataSource options (dist/, built by scripts/ensure.js), doing the same
// work as our routes and nothing else: no guard, no session, no sticky routing, no pino, no metrics.
// Plain JS with Nest's decorators applied by hand, so it needs no build step of its own.
//
//   GET /bare/up        SELECT 1 on the primary + Redis PING (the checks /up fails on)
//   GET /bare/projects  projectsOf(BENCH_USER_ID) + projectView, imported from ProjectsService: the same TypeORM query, on the replica
//
// Two floors, each the bare route plus one prescribed piece done as cheaply as we know how, so that bench/http
// shows what ratio a route with that piece can reach at best (not baselines of ours). Their Redis reads go
// out as ours do, one MGET per event-loop turn shared by the requests of that turn (BatchedReads, from dist/):
//   GET /bare/projects-session  the query for the session's user, after express-session + connect-redis in
//                               their cheapest setup: no rolling cookie, no touch (ours has a sliding cookie),
//                               401 without a session; it loads the session ours' login made (same secret, prefix)
//   GET /bare/projects-redis    the query for the bearer token's user, after reading the two keys ours reads
//                               for a token (revoked? read-your-writes window?), 401 when revoked; the token is
//                               decoded, not verified (ours remembers verified tokens, so verifying is not the cost)
//
// Env: PORT, BENCH_USER_ID, plus the DB_* / REDIS_URL variables the api reads.
'use strict';
require('reflect-metadata');
const { join } = require('node:path');
const { Controller, Get, Inject, Module, Req, Res, UnauthorizedException } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { TypeOrmModule, getRepositoryToken } = require('@nestjs/typeorm');
const { DataSource } = require('typeorm');
const session = require('express-session');
const { RedisStore } = require('connect-redis');

const dist = join(__dirname, '..', '..', 'dist');
const { AppConfig } = require(join(dist, 'config', 'app-config'));
const { dataSourceOptions } = require(join(dist, 'core', 'database', 'data-source-options'));
const { createRedis, redisReady } = require(join(dist, 'core', 'redis', 'redis.factory'));
const { Project } = require(join(dist, 'modules', 'projects', 'entities', 'project.entity'));
const { SESSION_COOKIE } = require(join(dist, 'core', 'session', 'session-cookie'));
const { BatchedReads } = require(join(dist, 'core', 'redis', 'batched-reads'));
// The route's own query and view, imported (not copied), so the baseline cannot drift from ours.
const { projectsOf, projectView } = require(join(dist, 'modules', 'projects', 'projects.service'));

const REDIS = 'BARE_REDIS';
const config = AppConfig.fromProcessEnv();
const userId = Number(process.env.BENCH_USER_ID);
if (!Number.isSafeInteger(userId) || userId <= 0) throw new Error('BENCH_USER_ID must be a user id');

class BareController {
  constructor(dataSource, projects, redis) {
    this.dataSource = dataSource;
    this.projects = projects;
    this.redis = redis;
  }

  async up() {
    await Promise.all([this.dataSource.query('SELECT 1'), this.redis.ping()]);
    return { status: 'ok' };
  }

  async list() {
    return (await projectsOf(this.projects, userId)).map(projectView);
  }

  async listSession(req, res) {
    // express-session called here, not as middleware: an Express layer would be matched by the other routes too.
    await new Promise((resolve, reject) => loadSession(req, res, (err) => (err ? reject(err) : resolve())));
    const id = req.session && req.session.userId;
    if (!id) throw new UnauthorizedException();
    return (await projectsOf(this.projects, id)).map(projectView);
  }

  async listRedis(req) {
    const claims = tokenClaims(req.headers.authorization);
    if (!claims) throw new UnauthorizedException();
    const [revoked] = await Promise.all([
      reads.get(`${config.redis.prefix}jwt:revoked:${claims.jti}`),
      reads.get(`${config.redis.prefix}db:sticky:${claims.sub}`),
    ]);
    if (revoked !== null) throw new UnauthorizedException();
    return (await projectsOf(this.projects, Number(claims.sub))).map(projectView);
  }
}

/** The floors' Redis reads and express-session (made in main, once the Redis client is connected). */
let reads;
let loadSession;

/** The claims of a bearer token, decoded once per token (not verified: see the header). */
const decoded = new Map();
function tokenClaims(header) {
  const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : '';
  if (!decoded.has(token)) {
    let claims = null;
    try {
      claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
    } catch {
      claims = null;
    }
    decoded.set(token, claims && claims.jti && claims.sub ? claims : null);
  }
  return decoded.get(token);
}

function decorateMethod(cls, name, ...decorators) {
  const descriptor = Object.getOwnPropertyDescriptor(cls.prototype, name);
  for (const d of decorators) d(cls.prototype, name, descriptor);
}

Controller('bare')(BareController);
decorateMethod(BareController, 'up', Get('up'));
decorateMethod(BareController, 'list', Get('projects'));
decorateMethod(BareController, 'listSession', Get('projects-session'));
Req()(BareController.prototype, 'listSession', 0);
Res({ passthrough: true })(BareController.prototype, 'listSession', 1);
decorateMethod(BareController, 'listRedis', Get('projects-redis'));
Req()(BareController.prototype, 'listRedis', 0);
Inject(DataSource)(BareController, undefined, 0);
Inject(getRepositoryToken(Project))(BareController, undefined, 1);
Inject(REDIS)(BareController, undefined, 2);

class BareModule {}
Module({
  imports: [TypeOrmModule.forRoot(dataSourceOptions(config)), TypeOrmModule.forFeature([Project])],
  controllers: [BareController],
  providers: [
    {
      provide: REDIS,
      useFactory: async () => {
        const client = createRedis(config.redis, { name: 'bench-bare' });
        await redisReady(client);
        return client;
      },
    },
  ],
})(BareModule);

async function main() {
  const app = await NestFactory.create(BareModule, { logger: ['error', 'warn'] });
  const redis = app.get(REDIS);
  reads = new BatchedReads(redis);
  loadSession = session({
    name: SESSION_COOKIE,
    secret: config.auth.sessionSecret,
    store: new RedisStore({
      client: { get: (key) => reads.get(key), set: (...args) => redis.set(...args), del: (key) => redis.del(key), expire: (key, s) => redis.expire(key, s) },
      prefix: `${config.redis.prefix}sess:`,
      ttl: config.auth.sessionTtlSeconds,
      disableTouch: true,
    }),
    resave: false,
    saveUninitialized: false,
    rolling: false,
    cookie: { httpOnly: true, sameSite: 'lax', maxAge: config.auth.sessionTtlSeconds * 1000 },
  });
  await app.listen(config.http.port, '127.0.0.1');
  const stop = async () => {
    await app.close();
    app.get(REDIS).disconnect();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

main().catch((err) => {
  process.stderr.write(`bare app failed to start: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
