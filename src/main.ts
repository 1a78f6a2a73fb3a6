import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { setupApiDocs } from './app/api-docs';
import { ApiModule } from './app/api.module';
import { configureHttp } from './app/http-setup';
import { keepAliveOnStrayErrors, loadConfigOrExit } from './app/process';
import { ShutdownState } from './core/health/shutdown-state';
import { setupBrowserLogin } from './core/ops/browser-login';
import { RealtimeIoAdapter } from './core/realtime/realtime-io.adapter';

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit();
  const app = await NestFactory.create<NestExpressApplication>(ApiModule.register(config), { bodyParser: false, bufferLogs: true });
  app.useLogger(app.get(Logger));
  keepAliveOnStrayErrors();
  configureHttp(app, config);
  setupApiDocs(app);
  setupBrowserLogin(app);
  app.useWebSocketAdapter(new RealtimeIoAdapter(app));
  // A reconnect storm (thousands of clients of a process that went away) arrives faster than the
  // event loop accepts: a backlog larger than Node's 511 keeps those connections waiting in the kernel
  // instead of dropped, which nginx saw as connect timeouts (bench:scale, docs/scaling/phase3.md).
  // Nest hands listen's arguments on to http.Server.listen(port, host, backlog, cb); its typings stop at the host.
  const listen = app.listen.bind(app) as unknown as (port: number, host: string, backlog: number) => Promise<unknown>;
  await listen(config.http.port, config.http.host, config.http.listenBacklog);
  // After Socket.IO has attached (engine.io takes the server's 'request' listeners and calls them only for
  // other paths): the drain's connection count then sees polling requests too.
  app.get(ShutdownState).attach(app.getHttpServer());
  const logger = app.get(Logger);
  logger.log({ port: config.http.port, host: config.http.host, instance: config.instanceId }, 'api listening');
  if (config.auth.generatedSecrets.length) {
    logger.warn(
      { variables: config.auth.generatedSecrets },
      'no secret given: this process made up its own, so its sessions and tokens work on it alone and end with it (npm run up passes the stack\'s own)',
    );
  }
  // Drain (ShutdownState), close listeners and connections, exit 0: a clean stop for Supervisor and k8s.
  let closing = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (closing) return;
      closing = true;
      app
        .close()
        .then(() => process.exit(0))
        .catch((err: unknown) => {
          logger.error({ err }, 'error while shutting down');
          process.exit(1);
        });
    });
  }
}

bootstrap().catch((err: unknown) => {
  process.stderr.write(`switchboard api failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
