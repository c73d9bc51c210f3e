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

  /** Threads that run the analyzers' per-file work; default WORKER_CONCURRENCY, at most the cores but one. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(64)
  ANALYSIS_THREADS?: number;

  /** What one file may cost an analyzer (CONTRACT §10: 1 s); a file over it is cut short and left out. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(600_000)
  ANALYSIS_FILE_BUDGET_MS = 1000;

  /** An analysis thread idle this long exits (a thread holds ~10-20 MiB); the next analysis starts it again. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(86_400_000)
  ANALYSIS_THREAD_IDLE_MS = 30_000;

  /**
   * On SIGTERM/SIGINT the app closes gracefully (listeners, sockets, leases handed back, pools ended); past this
   * many ms it logs what it was still waiting on and exits with code 1, so that a hung database or a stuck hook
   * cannot keep a stopped instance alive (and its port taken) for ever.
   */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(600_000)
  SHUTDOWN_TIMEOUT_MS = 10_000;

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

  /**
   * A worker not seen (claim, long-poll re-check or heartbeat) for this long is "stale" in `GET /api/queues`:
   * a healthy worker on the defaults is seen at least every 30 s (the longest claim wait; heartbeats come
   * every third of the 30 s default lease).
   */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  WORKER_STALE_MS = 30_000;

  /** Not seen for this long: "offline" (by then the default lease of anything it held has expired). */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  WORKER_OFFLINE_MS = 90_000;

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

  /** Requests of failing webhooks in flight at once on one instance (healthy webhooks do not wait for these). */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(256)
  WEBHOOK_CONCURRENCY = 16;

  @IsOptional()
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  /** §10: REST requests per second per key (burst of the same size); 0 = off. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  RATE_LIMIT_PER_KEY = 2000;

  /** §10: Socket.IO connections plus SSE streams open at once per key (per instance). */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  MAX_CONNECTIONS_PER_KEY = 1000;

  /**
   * Opt-in batched Socket.IO delivery (`subscribe` with `batch: true`): a project's `events` messages go out
   * about once per this many ms; events of a hot project wait for the window's end and share one frame.
   * 0: one message per event loop turn. At most 250, well inside §4's one second to every live subscriber.
   */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(250)
  SOCKET_BATCH_WINDOW_MS = 25;

  /** Long-poll claims (`waitMs` > 0) waiting at once per key (per instance); the next → 429 rate_limited. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100_000)
  MAX_WAITING_CLAIMS_PER_KEY = 100;

  /**
   * SQLite's `synchronous` pragma. FULL (default) syncs the WAL on every commit, so a 2xx survives a power
   * loss or an OS crash; NORMAL only survives a process crash (explicit opt-in, see the README).
   */
  @IsOptional()
  @IsIn(['FULL', 'NORMAL'], { message: 'SQLITE_SYNCHRONOUS must be FULL or NORMAL' })
  SQLITE_SYNCHRONOUS: 'FULL' | 'NORMAL' = 'FULL';
}

const SECRET_NAME = /TOKEN|SECRET|PASSWORD/i;

/**
 * A value as a configuration error may print it: never a secret (§10). Variables named like a secret show
 * only their length; a URL shows everything but the password of its user info (`mysql://u:***@h/db`).
 */
export function shownValue(name: string, value: unknown): string {
  if (value === undefined || value === null) return String(value);
  const text = String(value);
  if (SECRET_NAME.test(name)) return `(hidden, ${text.length} characters)`;
  // user info: `user:password@` keeps the user; a lone `secret@` (Redis' password-only form) is all hidden.
  // It runs to the LAST `@` of the authority: a password may hold a raw `@` (`u:p@ss@h`).
  const masked = text.replace(
    /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#]*)@/,
    (_m, scheme: string, info: string) =>
      info.includes(':') ? `${scheme}${info.slice(0, info.indexOf(':'))}:***@` : `${scheme}***@`,
  );
  // a URL too broken for the pattern above: whatever stands before its last `@` may be credentials
  if (masked === text && /_URL$/.test(name) && text.includes('@'))
    return JSON.stringify(`***${text.slice(text.lastIndexOf('@'))}`);
  return JSON.stringify(masked);
}

export function validateEnv(raw: Record<string, unknown>): EnvironmentVariables {
  // an empty variable (`ADMIN_TOKEN=`) means unset, as in most tools
  const present = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== ''));
  const env = plainToInstance(EnvironmentVariables, present, { enableImplicitConversion: false });
  const errors = validateSync(env, { skipMissingProperties: false, whitelist: false });
  if (errors.length > 0) {
    const lines = errors.map(
      (e) =>
        `  ${e.property}=${shownValue(e.property, e.value)}: ${Object.values(e.constraints ?? {}).join('; ')}`,
    );
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  if (env.REDIS_URL && !/^(mysql|mariadb):/.test(env.DATABASE_URL))
    throw new Error(
      'Invalid configuration:\n  REDIS_URL is set: several instances share one MySQL/MariaDB, but DATABASE_URL is SQLite (a file one process owns)',
    );
  // without either, each instance would seal webhook secrets under its own generated key file
  if (env.REDIS_URL && !env.WEBHOOK_SECRET_KEY && !env.ADMIN_TOKEN)
    throw new Error(
      'Invalid configuration:\n  WEBHOOK_SECRET_KEY is not set: with REDIS_URL every instance must seal webhook secrets under the same key, so set the same WEBHOOK_SECRET_KEY (or ADMIN_TOKEN) on all of them',
    );
  // the panel's three states need offline past stale; otherwise "stale" could never show
  if (env.WORKER_OFFLINE_MS <= env.WORKER_STALE_MS)
    throw new Error(
      `Invalid configuration:\n  WORKER_OFFLINE_MS=${env.WORKER_OFFLINE_MS} must be more than WORKER_STALE_MS=${env.WORKER_STALE_MS}`,
    );
  return env;
}
