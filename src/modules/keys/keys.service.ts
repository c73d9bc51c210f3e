import { PrincipalResolver } from '../../common/auth/principal-resolver';
import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { AppConfig } from '../../config/app.config';
import { DbService } from '../../database/db.service';
import { DomainError, notFound } from '../../common/errors/domain-error';
import { Principal, Role } from '../../common/auth/principal';
import { ClusterBus } from '../cluster';
import { MetricsService } from '../metrics';

export interface KeyView {
  id: string;
  name: string;
  role: Role;
  projects: string[];
  createdAt: string;
}

const CACHE_TTL_MS = 2000;
/**
 * Unknown tokens are remembered this long (at most NEGATIVE_CACHE_MAX of them, oldest dropped first), so
 * that a flood of bad keys costs a map lookup instead of a database query each.
 */
const NEGATIVE_TTL_MS = 5000;
const NEGATIVE_CACHE_MAX = 10_000;
const ADMIN_KEY_ID = 'admin';
/** With REDIS_URL: how often revocations are read from the database, in case a message was lost. */
const REVOKED_POLL_MS = 1000;
const REVOKED_WINDOW_MS = 60_000;

export const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

/**
 * API keys: secrets are random 32-byte tokens, stored as sha256 (they are not passwords: high entropy,
 * so a fast hash is enough). Lookups are cached for 2 s; a revocation through this instance drops the
 * cache entry at once, so the next request with a revoked key gets 401.
 *
 * With REDIS_URL the revocation is announced to the other instances, which drop the cache entry and close
 * the key's sockets and streams at once; in case that message is lost, each instance also reads the
 * keys revoked in the last minute every second (revocations are rare: a small, cheap query).
 */
@Injectable()
export class KeysService implements PrincipalResolver, OnApplicationShutdown {
  private readonly logger = new Logger('Keys');
  private readonly cache = new Map<string, { principal: Principal; at: number }>();
  private readonly revokeListeners: Array<(keyId: string) => void> = [];
  /**
   * Keys revoked in the last REVOKED_WINDOW_MS, by id and by hash, with when they were applied here. A lookup
   * that read the key just before its revocation committed must not hand out (or cache) the principal after
   * the revocation was applied, and a socket or stream that registers in that gap is refused (`isRevoked`).
   */
  private readonly revoked = new Map<string, number>();
  private readonly revokedHashes = new Map<string, number>();
  /** Hashes of tokens that matched no live key, with when (the negative cache). */
  private readonly unknown = new Map<string, number>();
  /**
   * Lookups in flight, by hash: the requests of a burst with a key not cached yet wait for the first one's
   * lookup. Each used to look it up, and each charged its client address first (§10), so one new key's
   * burst used up the address's budget and the next new key from there got a 429 with a budget of its own.
   */
  private readonly lookups = new Map<string, Promise<Principal | undefined>>();
  private revokedTimer?: NodeJS.Timeout;

  constructor(
    private readonly db: DbService,
    private readonly config: AppConfig,
    private readonly cluster: ClusterBus,
    private readonly metrics: MetricsService,
  ) {
    db.whenReady(() => this.bootstrapAdmin());
    if (cluster.enabled) {
      cluster.on('keys', (payload) => {
        const { id, hash } = JSON.parse(payload) as { id: string; hash: string };
        this.applyRevocation(id, hash);
      });
      db.whenReady(() => {
        this.revokedTimer = setInterval(() => void this.pollRevoked(), REVOKED_POLL_MS);
        this.revokedTimer.unref();
      });
    }
  }

  onRevoke(fn: (keyId: string) => void): void {
    this.revokeListeners.push(fn);
  }

  async authenticate(secret: string, beforeLookup?: () => Promise<void>): Promise<Principal | undefined> {
    const hash = hashSecret(secret);
    const now = Date.now();
    const hit = this.cache.get(hash);
    if (hit && now - hit.at < CACHE_TTL_MS) return hit.principal;
    const miss = this.unknown.get(hash);
    if (miss !== undefined) {
      if (now - miss < NEGATIVE_TTL_MS) {
        this.metrics.keyLookups.inc({ source: 'unknown_cached' });
        return undefined;
      }
      this.unknown.delete(hash);
    }
    const inFlight = this.lookups.get(hash);
    if (inFlight) return inFlight;
    // the charge is this request's own (its 429 is not shared with the requests that join the lookup)
    await beforeLookup?.();
    const started = this.lookups.get(hash);
    if (started) return started;
    const lookup = this.lookup(hash, now);
    this.lookups.set(hash, lookup);
    try {
      return await lookup;
    } finally {
      this.lookups.delete(hash);
    }
  }

  private async lookup(hash: string, now: number): Promise<Principal | undefined> {
    // until the database is ready (the admin key written), "no such key" could be wrong: 503, not 401
    if (!this.db.isReady) throw new DomainError('unavailable', 'the database is not available yet');
    this.metrics.keyLookups.inc({ source: 'database' });
    const rows = await this.db.query(
      'SELECT id, role, projects FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL',
      [hash],
    );
    if (rows.length === 0) {
      this.cache.delete(hash);
      this.rememberUnknown(hash, now);
      return undefined;
    }
    if (this.revokedHashes.has(hash)) return undefined; // revoked while this lookup was in flight
    const principal = new Principal(rows[0].id, rows[0].role as Role, JSON.parse(rows[0].projects));
    if (this.cache.size > 10000) this.cache.clear();
    this.cache.set(hash, { principal, at: Date.now() });
    return principal;
  }

  async create(name: string, role: Role, projects: string[]): Promise<KeyView & { key: string }> {
    const key = `stl_${randomBytes(32).toString('base64url')}`;
    const id = randomUUID();
    const now = Date.now();
    const hash = hashSecret(key);
    await this.db.query(
      'INSERT INTO api_keys (id, name, role, projects, key_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      [id, name, role, JSON.stringify(projects), hash, now],
    );
    return { id, name, role, projects, key, createdAt: new Date(now).toISOString() };
  }

  async list(): Promise<KeyView[]> {
    const rows = await this.db.query(
      'SELECT id, name, role, projects, created_at FROM api_keys WHERE revoked_at IS NULL ORDER BY created_at, id',
    );
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      role: r.role,
      projects: JSON.parse(r.projects),
      createdAt: new Date(Number(r.created_at)).toISOString(),
    }));
  }

  async revoke(id: string): Promise<void> {
    // §10: the key behind ADMIN_TOKEN (or the generated admin token) stays: revoking it would lock admins out
    if (id === ADMIN_KEY_ID)
      throw new DomainError('conflict', 'the admin key (ADMIN_TOKEN) cannot be revoked');
    const rows = await this.db.query('SELECT key_hash FROM api_keys WHERE id = ? AND revoked_at IS NULL', [
      id,
    ]);
    if (rows.length === 0) throw notFound(`key ${id}`);
    await this.db.query('UPDATE api_keys SET revoked_at = ? WHERE id = ?', [Date.now(), id]);
    this.applyRevocation(id, rows[0].key_hash);
    this.cluster.publish('keys', JSON.stringify({ id, hash: rows[0].key_hash }));
  }

  /** Whether the key was revoked (recently enough to matter for a connection that is just registering). */
  isRevoked(keyId: string): boolean {
    return this.revoked.has(keyId);
  }

  /** Requests with the key get 401 from now on, and its live sockets and streams here are closed. */
  private applyRevocation(id: string, hash: string): void {
    this.cache.delete(hash);
    const now = Date.now();
    const known = this.revoked.has(id);
    for (const [k, at] of this.revoked) if (now - at > REVOKED_WINDOW_MS) this.revoked.delete(k);
    for (const [k, at] of this.revokedHashes) if (now - at > REVOKED_WINDOW_MS) this.revokedHashes.delete(k);
    this.revoked.set(id, now);
    this.revokedHashes.set(hash, now);
    if (known) return; // applied already (by message, by poll, or here): sockets and streams are closed
    for (const fn of this.revokeListeners) fn(id);
  }

  private rememberUnknown(hash: string, now: number): void {
    if (this.unknown.size >= NEGATIVE_CACHE_MAX) {
      const oldest = this.unknown.keys().next();
      if (!oldest.done) this.unknown.delete(oldest.value);
    }
    this.unknown.set(hash, now);
  }

  private async pollRevoked(): Promise<void> {
    if (!this.db.isReady) return;
    try {
      const rows = await this.db.query('SELECT id, key_hash FROM api_keys WHERE revoked_at >= ?', [
        Date.now() - REVOKED_WINDOW_MS,
      ]);
      for (const r of rows) this.applyRevocation(r.id, r.key_hash);
    } catch {
      // the database is away: the next poll tries again
    }
  }

  onApplicationShutdown(): void {
    if (this.revokedTimer) clearInterval(this.revokedTimer);
  }

  /** ADMIN_TOKEN, stored hashed; when unset, one is generated on first start and printed once. */
  private async bootstrapAdmin(): Promise<void> {
    const token = this.config.adminToken;
    const existing = await this.db.query('SELECT key_hash, revoked_at FROM api_keys WHERE id = ?', [
      ADMIN_KEY_ID,
    ]);
    if (token) {
      const hash = hashSecret(token);
      this.unknown.delete(hash);
      if (existing.length === 0) await this.insertAdmin(hash);
      // a new token, or the admin key revoked by an older version: starting with ADMIN_TOKEN restores it
      else if (existing[0].key_hash !== hash || existing[0].revoked_at !== null)
        await this.db.query('UPDATE api_keys SET key_hash = ?, revoked_at = NULL WHERE id = ?', [
          hash,
          ADMIN_KEY_ID,
        ]);
      this.unknown.delete(hash);
      return;
    }
    if (existing.length > 0) return;
    const generated = `stl_admin_${randomBytes(24).toString('base64url')}`;
    await this.insertAdmin(hashSecret(generated));
    // printed once, on stdout, outside the structured log so that it is easy to find
    process.stdout.write(`\nStepline admin token (shown once, store it now): ${generated}\n\n`);
    this.logger.log('generated the admin token');
  }

  private async insertAdmin(hash: string): Promise<void> {
    await this.db.query(
      'INSERT INTO api_keys (id, name, role, projects, key_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      [ADMIN_KEY_ID, 'admin', 'admin', '["*"]', hash, Date.now()],
    );
  }
}
