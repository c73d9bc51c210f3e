import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { json, type NextFunction, type Request, type Response } from 'express';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { AppConfig } from './config/app.config';
import { assertJsonLimits } from './common/validation/json-limits';
import { createValidationPipe } from './common/validation/validation.pipe';
import { DbService } from './database/db.service';
import { MetricsService } from './modules/metrics';
import { RealtimeIoAdapter } from './modules/realtime';

/** Builds the whole app (used by main.ts and by the benchmark); the database connects in the background. */
export async function createApp(): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule, {
    bufferLogs: true,
    bodyParser: false,
    // on shutdown, close the connections still open once the app has stopped: a browser's preconnected
    // socket (no request yet) is never "idle" to Node, and server.close() would wait for it indefinitely
    forceCloseConnections: true,
  });
  app.useLogger(app.get(Logger));
  const config = app.get(AppConfig);
  app.set('trust proxy', false);
  app.disable('x-powered-by');
  app.use(json({ limit: '1mb', strict: true }));
  // §10 depth and key limits, before class-transformer and the fast paths see the body
  app.use((req: Request, _res: Response, next: NextFunction) => {
    try {
      assertJsonLimits(req.body);
      next();
    } catch (err) {
      next(err);
    }
  });
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
  // Idle keep-alive connections stay open 65 s (Node's default is 5 s): a client that sends its next request
  // on an idle connection just as the server closes it gets "other side closed" for a POST it cannot retry
  // (seen under load with long-poll claims). Clients (undici) read the Keep-Alive header and close first.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('connection', (socket: import('node:net').Socket) => {
    metrics.openConnections.inc({ kind: 'http' });
    socket.once('close', () => metrics.openConnections.dec({ kind: 'http' }));
  });
  return app;
}

export async function startApp(): Promise<INestApplication> {
  const app = await createApp();
  const config = app.get(AppConfig);
  await app.listen(config.port, config.host);
  void app.get(DbService).connect();
  return app;
}
