import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { AppConfig } from './config/app.config';
import { toDomainError } from './common/errors/all-exceptions.filter';
import { errorBody } from './common/errors/error-body';
import { registerBodyParsers, MAX_BODY_BYTES } from './common/http/body-parsers';
import { createValidationPipe } from './common/validation/validation.pipe';
import { DbService } from './database/db.service';
import { MetricsService } from './modules/metrics';
import { RealtimeIoAdapter } from './modules/realtime';

/** Builds the whole app (used by main.ts and by the benchmark); the database connects in the background. */
export async function createApp(): Promise<INestApplication> {
  const adapter = new FastifyAdapter({
    // the client's address is the socket's: no X-Forwarded-For is believed (rate limits are per address)
    trustProxy: false,
    // §1: request bodies are at most 1 MiB (413 payload_too_large past it)
    bodyLimit: MAX_BODY_BYTES,
    // Idle keep-alive connections stay open 65 s (Node's default is 5 s): a client that sends its next request
    // on an idle connection just as the server closes it gets "other side closed" for a POST it cannot retry
    // (seen once in CI on a key-creating POST). Clients (undici) read the Keep-Alive header and close first.
    keepAliveTimeout: 65_000,
    // on shutdown, close the connections still open once the app has stopped: a browser's preconnected
    // socket (no request yet) is never "idle" to Node, and server.close() would wait for it indefinitely
    forceCloseConnections: true,
    // routes match as Express matched them (case-insensitive, a trailing slash ignored); ids up to 64
    // characters are the contract's, longer ones must reach validation (400) or the lookup (404), never the
    // router's own 414: any parameter that fits in a request line (Node reads at most 16 KiB of headers)
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true, maxParamLength: 16 * 1024 },
    // errors the router raises before Nest sees the request (a URL with broken percent-encoding) get the
    // contract's error body, like every other error
    frameworkErrors: (err: Error, _req: FastifyRequest, reply: FastifyReply) => {
      const e = toDomainError(err);
      void reply
        .status(e.status)
        .type('application/json; charset=utf-8')
        .send(JSON.stringify(errorBody(e)));
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, adapter, {
    bufferLogs: true,
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  const config = app.get(AppConfig);
  // JSON only (strict: an object or an array), with the §10 depth and key limits, before class-transformer
  // and the fast paths see the body
  registerBodyParsers(app.getHttpAdapter().getInstance());
  app.useGlobalPipes(createValidationPipe());
  const origins = config.corsOrigins;
  if (origins) app.enableCors({ origin: origins, credentials: true });
  app.useWebSocketAdapter(new RealtimeIoAdapter(app, origins));

  const doc = new DocumentBuilder()
    .setTitle('Stepline')
    .setDescription('Progress tracking for long-running, multi-step work. See CONTRACT.md.')
    .setVersion('1')
    .addBearerAuth()
    .build();
  SwaggerModule.setup('api/docs', app, () => SwaggerModule.createDocument(app, doc));
  app.enableShutdownHooks();

  const metrics = app.get(MetricsService);
  const server = app.getHttpServer();
  server.headersTimeout = 66_000;
  metrics.countHttpConnections(
    () =>
      new Promise<number>((resolve) =>
        (server as import('node:net').Server).getConnections((err, n) => resolve(err ? 0 : n)),
      ),
  );
  return app;
}

export async function startApp(): Promise<INestApplication> {
  const app = await createApp();
  const config = app.get(AppConfig);
  await app.listen(config.port, config.host);
  void app.get(DbService).connect();
  armShutdownDeadline(config.shutdownTimeoutMs, app.get(Logger));
  return app;
}

/**
 * Graceful shutdown has a deadline: once SIGTERM or SIGINT arrives (Nest's own listeners run the hooks), a timer
 * that does not hold the process open exits with code 1 if the hooks have not finished by then, after logging
 * what the process was still waiting on.
 */
function armShutdownDeadline(ms: number, logger: Logger): void {
  const arm = (signal: string) => {
    const started = Date.now();
    setTimeout(() => {
      logger.error(
        `graceful shutdown on ${signal} did not finish within ${ms} ms; exiting. Still open: ${process
          .getActiveResourcesInfo()
          .join(', ')}`,
        'Shutdown',
      );
      process.exitCode = 1;
      // pino writes asynchronously: give the line a moment to reach stdout before the exit
      setTimeout(() => process.exit(1), 50).unref();
    }, ms).unref();
    logger.log(
      `shutting down on ${signal} (deadline ${ms} ms, started ${new Date(started).toISOString()})`,
      'Shutdown',
    );
  };
  process.once('SIGTERM', () => arm('SIGTERM'));
  process.once('SIGINT', () => arm('SIGINT'));
}
