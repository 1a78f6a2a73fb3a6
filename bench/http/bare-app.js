// The baseline for bench/http: a bare NestJS app on the same @nestjs/core, platform-express and
// @nestjs/typeorm, with the same DataSource options (dist/, built by scripts/ensure.js), doing the same
// work as our routes and nothing else: no guard, no session, no sticky routing, no pino, no metrics.
// Plain JS with Nest's decorators applied by hand, so it needs no build step of its own.
//
//   GET /bare/up        SELECT 1 on the primary + Redis PING (the checks /up fails on)
//   GET /bare/projects  projectsOf(BENCH_USER_ID) + projectView, imported from ProjectsService: the same TypeORM query, on the replica
//
// Env: PORT, BENCH_USER_ID, plus the DB_* / REDIS_URL variables the api reads.
'use strict';
require('reflect-metadata');
const { join } = require('node:path');
const { Controller, Get, Inject, Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { TypeOrmModule, getRepositoryToken } = require('@nestjs/typeorm');
const { DataSource } = require('typeorm');

const dist = join(__dirname, '..', '..', 'dist');
const { AppConfig } = require(join(dist, 'config', 'app-config'));
const { dataSourceOptions } = require(join(dist, 'core', 'database', 'data-source-options'));
const { createRedis, redisReady } = require(join(dist, 'core', 'redis', 'redis.factory'));
const { Project } = require(join(dist, 'modules', 'projects', 'entities', 'project.entity'));
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
}

function decorateMethod(cls, name, ...decorators) {
  const descriptor = Object.getOwnPropertyDescriptor(cls.prototype, name);
  for (const d of decorators) d(cls.prototype, name, descriptor);
}

Controller('bare')(BareController);
decorateMethod(BareController, 'up', Get('up'));
decorateMethod(BareController, 'list', Get('projects'));
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
