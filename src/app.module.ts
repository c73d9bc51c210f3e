import { Module, RequestMethod } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { LoggerModule } from 'nestjs-pino';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppConfigModule } from './config/config.module';
import { AppConfig } from './config/app.config';
import { DatabaseModule } from './database/database.module';
import { ClusterModule } from './modules/cluster/cluster.module';
import { LimitsModule } from './modules/limits/limits.module';
import { AllExceptionsFilter } from './common/errors/all-exceptions.filter';
import { AuthGuard } from './common/auth/auth.guard';
import { RawJsonInterceptor } from './common/json/raw-json.interceptor';
import { MetricsModule } from './modules/metrics/metrics.module';
import { HttpMetricsInterceptor } from './modules/metrics/http-metrics.interceptor';
import { KeysModule } from './modules/keys/keys.module';
import { EventLogModule } from './modules/event-log/event-log.module';
import { WorkflowsModule } from './modules/workflows/workflows.module';
import { ProjectsModule } from './modules/projects/projects.module';
import { HealthModule } from './modules/health/health.module';
import { RealtimeModule } from './modules/realtime/realtime.module';
import { QueueMonitoringModule } from './modules/queue-monitoring/queue-monitoring.module';
import { SessionsModule } from './modules/sessions/sessions.module';
import { ProgressTrackerModule } from './modules/progress-tracker/progress-tracker.module';
import { DashboardModule } from './modules/dashboard/dashboard.module';
import { AnalysisStepsModule } from './modules/analysis-steps/analysis-steps.module';

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
    ProjectsModule,
    HealthModule,
    RealtimeModule,
    QueueMonitoringModule,
    SessionsModule,
    ProgressTrackerModule,
    DashboardModule,
    AnalysisStepsModule,
  ],
  providers: [
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_FILTER, useClass: AllExceptionsFilter },
    { provide: APP_INTERCEPTOR, useClass: HttpMetricsInterceptor },
    { provide: APP_INTERCEPTOR, useClass: RawJsonInterceptor },
  ],
})
export class AppModule {}
