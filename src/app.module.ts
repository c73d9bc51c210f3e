import { Module, RequestMethod } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { LoggerModule } from 'nestjs-pino';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppConfigModule } from './config/config.module';
import { AppConfig } from './config/app.config';
import { DatabaseModule } from './database/database.module';
import { ClusterModule } from './modules/cluster';
import { LimitsModule } from './common/limits/limits.module';
import { AllExceptionsFilter } from './common/errors/all-exceptions.filter';
import { AuthGuard } from './common/auth/auth.guard';
import { RawJsonInterceptor } from './common/json/raw-json.interceptor';
import { MetricsModule } from './modules/metrics';
import { HttpMetricsInterceptor } from './modules/metrics';
import { KeysModule } from './modules/keys';
import { EventLogModule } from './modules/event-log';
import { WorkflowsModule } from './modules/workflows';
import { HealthModule } from './modules/health';
import { RealtimeModule } from './modules/realtime';
import { QueueMonitoringModule } from './modules/queue-monitoring';
import { SessionsModule } from './modules/sessions';
import { ProgressTrackerModule } from './modules/progress-tracker';
import { DashboardModule } from './modules/dashboard';
import { AnalysisStepsModule } from './modules/analysis-steps';
import { WebhooksModule } from './modules/webhooks';

@Module({
  imports: [
    AppConfigModule,
    LoggerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        // per-request logging (a child logger and redaction per request) costs a few % of a write; it is on
        // at debug/trace only. App logs and errors are structured pino lines at every level.
        ...(['debug', 'trace'].includes(config.logLevel)
          ? {}
          : { exclude: [{ method: RequestMethod.ALL, path: '{*path}' }] }),
        pinoHttp: {
          level: config.logLevel,
          // request lines at debug (cheap to skip at info); failures stand out
          // (503 is the database being away: expected and already visible in /health, so not an error line)
          customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) =>
            res.statusCode === 503
              ? 'warn'
              : err || res.statusCode >= 500
                ? 'error'
                : res.statusCode >= 400
                  ? 'warn'
                  : 'debug',
          redact: ['req.headers.authorization', 'req.query.access_token'],
        },
      }),
    }),
    CqrsModule.forRoot(),
    DatabaseModule,
    MetricsModule,
    ClusterModule,
    LimitsModule,
    KeysModule,
    EventLogModule,
    WorkflowsModule,
    HealthModule,
    RealtimeModule,
    QueueMonitoringModule,
    SessionsModule,
    ProgressTrackerModule,
    DashboardModule,
    AnalysisStepsModule,
    WebhooksModule,
  ],
  providers: [
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_FILTER, useClass: AllExceptionsFilter },
    { provide: APP_INTERCEPTOR, useClass: HttpMetricsInterceptor },
    { provide: APP_INTERCEPTOR, useClass: RawJsonInterceptor },
  ],
})
export class AppModule {}
