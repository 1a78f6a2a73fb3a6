'use strict';
/**
 * Boots the AI module on its own from dist/ (config, logs to stderr, Redis,
 * the database, AiModule) as a worker would, then serves JSON commands, one
 * per stdin line, answering one JSON line each on stdout:
 *   {"id":1,"op":"answer","query":"...","context":{}}     -> AiService.answer
 *   {"id":2,"op":"reply","roomId":1,"body":"...","recent":[{"userId":1,"body":"..."}]}
 *   {"id":3,"op":"assistantId"}                            -> AssistantResponder.assistantUserId
 *   {"id":4,"op":"metrics"}                                -> Prometheus text of this process
 * Used by test/e2e/ai-service.e2e-spec.ts to exercise what other modules call.
 */
require('reflect-metadata');
const { join } = require('node:path');
const readline = require('node:readline');
const { Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { Logger } = require('nestjs-pino');
const { register } = require('prom-client');

const dist = (p) => require(join(__dirname, '..', '..', 'dist', p));
const { AppConfig } = dist('config/app-config');
const { coreImports } = dist('app/api.module');
const { AiModule } = dist('modules/ai/ai.module');
const { RealtimeModule } = dist('core/realtime/realtime.module');
const { AiService } = dist('modules/ai/ai.service');
const { AssistantResponder } = dist('modules/ai/assistant-responder');

const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

async function main() {
  const config = AppConfig.fromProcessEnv();
  class AiHarnessModule {}
  // AuthModule (through AiModule) needs RealtimeService since logout reaches live connections: the worker's Redis-only one.
  Module({ imports: [...coreImports(config, { logToStderr: true }), RealtimeModule.forWorker(), AiModule] })(AiHarnessModule);
  const app = await NestFactory.createApplicationContext(AiHarnessModule, { bufferLogs: true });
  app.useLogger(app.get(Logger)); // JSON logs on stderr: stdout carries the replies only
  const ai = app.get(AiService);
  const assistant = app.get(AssistantResponder);
  out({ ready: true });
  const handle = async (cmd) => {
    switch (cmd.op) {
      case 'answer':
        return ai.answer(cmd.query, cmd.context);
      case 'reply':
        return assistant.replyText(cmd.roomId, cmd.body, cmd.recent);
      case 'assistantId':
        return assistant.assistantUserId();
      case 'metrics':
        return register.metrics();
      default:
        throw new Error(`unknown op ${cmd.op}`);
    }
  };
  for await (const line of readline.createInterface({ input: process.stdin })) {
    let cmd = {};
    try {
      cmd = JSON.parse(line);
      out({ id: cmd.id, ok: true, result: await handle(cmd) });
    } catch (err) {
      out({ id: cmd.id, ok: false, error: err.message, code: err.code });
    }
  }
  await app.close();
}

main().catch((err) => {
  process.stderr.write(`ai-harness: ${err.stack || err}\n`);
  process.exit(1);
});
