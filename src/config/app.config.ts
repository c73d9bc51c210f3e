import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { EnvironmentVariables } from './env.validation';

/** Typed access to the validated environment. */
@Injectable()
export class AppConfig {
  constructor(private readonly config: ConfigService<EnvironmentVariables, true>) {}

  get port(): number {
    return this.config.get('PORT', { infer: true });
  }
  get host(): string {
    return this.config.get('HOST', { infer: true });
  }
  get databaseUrl(): string {
    return this.config.get('DATABASE_URL', { infer: true });
  }
  get adminToken(): string | undefined {
    return this.config.get('ADMIN_TOKEN', { infer: true });
  }
  get redisUrl(): string | undefined {
    return this.config.get('REDIS_URL', { infer: true });
  }
  get redisPrefix(): string | undefined {
    return this.config.get('REDIS_PREFIX', { infer: true });
  }
  get workerConcurrency(): number {
    return this.config.get('WORKER_CONCURRENCY', { infer: true });
  }
  get analysisRoot(): string {
    return this.config.get('ANALYSIS_ROOT', { infer: true }) ?? process.cwd();
  }
  get analysisThreads(): number | undefined {
    return this.config.get('ANALYSIS_THREADS', { infer: true });
  }
  get analysisFileBudgetMs(): number {
    return this.config.get('ANALYSIS_FILE_BUDGET_MS', { infer: true });
  }
  get analysisThreadIdleMs(): number {
    return this.config.get('ANALYSIS_THREAD_IDLE_MS', { infer: true });
  }
  get shutdownTimeoutMs(): number {
    return this.config.get('SHUTDOWN_TIMEOUT_MS', { infer: true });
  }
  get eventRetentionHours(): number {
    return this.config.get('EVENT_RETENTION_HOURS', { infer: true });
  }
  get logRetentionHours(): number {
    return this.config.get('LOG_RETENTION_HOURS', { infer: true });
  }
  get sweepIntervalMs(): number {
    return this.config.get('SWEEP_INTERVAL_MS', { infer: true });
  }
  get workerStaleMs(): number {
    return this.config.get('WORKER_STALE_MS', { infer: true });
  }
  get workerOfflineMs(): number {
    return Math.max(this.workerStaleMs, this.config.get('WORKER_OFFLINE_MS', { infer: true }));
  }
  get logLevel(): string {
    return this.config.get('LOG_LEVEL', { infer: true });
  }
  get webhookAllowedHosts(): string | undefined {
    return this.config.get('WEBHOOK_ALLOWED_HOSTS', { infer: true });
  }
  get webhookSecretKey(): string | undefined {
    return this.config.get('WEBHOOK_SECRET_KEY', { infer: true });
  }
  get webhookConcurrency(): number {
    return this.config.get('WEBHOOK_CONCURRENCY', { infer: true });
  }
  get corsOrigins(): string[] | undefined {
    const raw = this.config.get('CORS_ORIGINS', { infer: true });
    return raw
      ? raw
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : undefined;
  }
  get rateLimitPerKey(): number {
    return this.config.get('RATE_LIMIT_PER_KEY', { infer: true });
  }
  get maxConnectionsPerKey(): number {
    return this.config.get('MAX_CONNECTIONS_PER_KEY', { infer: true });
  }
  get socketBatchWindowMs(): number {
    return this.config.get('SOCKET_BATCH_WINDOW_MS', { infer: true });
  }
  get maxWaitingClaimsPerKey(): number {
    return this.config.get('MAX_WAITING_CLAIMS_PER_KEY', { infer: true });
  }
  get sqliteSynchronous(): 'FULL' | 'NORMAL' {
    return this.config.get('SQLITE_SYNCHRONOUS', { infer: true });
  }
}
