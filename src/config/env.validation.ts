import { plainToInstance, Transform } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  validateSync,
} from 'class-validator';

const toNum = ({ value }: { value: unknown }) =>
  value === undefined || value === ''
    ? undefined
    : /^\d+(\.\d+)?$/.test(String(value))
      ? Number(value)
      : value;

const toInt = ({ value }: { value: unknown }) =>
  value === undefined || value === '' ? undefined : /^-?\d+$/.test(String(value)) ? Number(value) : value;

/** The environment Stepline reads, validated once at boot; a bad value stops the start naming the variable. */
export class EnvironmentVariables {
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @IsOptional()
  @IsString()
  HOST = '127.0.0.1';

  @IsOptional()
  @Matches(/^(sqlite:.+|mysql:\/\/.+|mariadb:\/\/.+)$/, {
    message: 'DATABASE_URL must be sqlite:<file> or mysql://user:pass@host:port/db',
  })
  DATABASE_URL = 'sqlite:./data/stepline.sqlite';

  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'ADMIN_TOKEN must be at least 16 characters' })
  ADMIN_TOKEN?: string;

  @IsOptional()
  @Matches(/^rediss?:\/\/.+/, { message: 'REDIS_URL must be redis://host:port' })
  REDIS_URL?: string;

  /** Redis channel namespace; default `stepline:<database name>`, so that instances of one database share it. */
  @IsOptional()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, { message: 'REDIS_PREFIX must be letters, digits, _.:-' })
  REDIS_PREFIX?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(64)
  WORKER_CONCURRENCY = 2;

  @IsOptional()
  @IsString()
  ANALYSIS_ROOT?: string;

  /** Hours; fractions are allowed (0.01 = 36 s), which the tests use. */
  @IsOptional()
  @Transform(toNum)
  @IsNumber()
  @Min(0.0001)
  EVENT_RETENTION_HOURS = 24;

  @IsOptional()
  @Transform(toNum)
  @IsNumber()
  @Min(0.0001)
  LOG_RETENTION_HOURS = 24 * 7;

  @IsOptional()
  @IsString()
  CORS_ORIGINS?: string;

  /** How often the stalled-workflow and retention sweeps run. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(50)
  SWEEP_INTERVAL_MS = 5000;

  /** Webhook hosts that may be on loopback/private/link-local addresses: comma-separated, exact host match. */
  @IsOptional()
  @IsString()
  WEBHOOK_ALLOWED_HOSTS?: string;

  /**
   * The server secret webhook signing secrets are encrypted under (HKDF → AES-256-GCM). Default: derived from
   * ADMIN_TOKEN, else a random key in `webhook-secret.key` beside the SQLite file (or in ./data).
   */
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'WEBHOOK_SECRET_KEY must be at least 16 characters' })
  WEBHOOK_SECRET_KEY?: string;

  /** Webhook deliveries in flight at once on one instance (a slow endpoint holds one for at most 10 s). */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(256)
  WEBHOOK_CONCURRENCY = 16;

  @IsOptional()
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';
}

export function validateEnv(raw: Record<string, unknown>): EnvironmentVariables {
  // an empty variable (`ADMIN_TOKEN=`) means unset, as in most tools
  const present = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== ''));
  const env = plainToInstance(EnvironmentVariables, present, { enableImplicitConversion: false });
  const errors = validateSync(env, { skipMissingProperties: false, whitelist: false });
  if (errors.length > 0) {
    const lines = errors.map(
      (e) => `  ${e.property}=${JSON.stringify(e.value)}: ${Object.values(e.constraints ?? {}).join('; ')}`,
    );
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  if (env.REDIS_URL && !/^(mysql|mariadb):/.test(env.DATABASE_URL))
    throw new Error(
      'Invalid configuration:\n  REDIS_URL is set: several instances share one MySQL/MariaDB, but DATABASE_URL is SQLite (a file one process owns)',
    );
  return env;
}
