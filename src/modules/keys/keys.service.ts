import { Injectable, Logger } from '@nestjs/common';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { AppConfig } from '../../config/app.config';
import { DbService } from '../../database/db.service';
import { notFound } from '../../common/errors/domain-error';
import { Principal, Role } from '../../common/auth/principal';

export interface KeyView {
  id: string;
  name: string;
  role: Role;
  projects: string[];
  createdAt: string;
}

const CACHE_TTL_MS = 2000;
const ADMIN_KEY_ID = 'admin';

export const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

/**
 * API keys: secrets are random 32-byte tokens, stored as sha256 (they are not passwords: high entropy,
 * so a fast hash is enough). Lookups are cached for 2 s; a revocation through this instance drops the
 * cache entry at once, so the next request with a revoked key gets 401.
 */
@Injectable()
export class KeysService {
  private readonly logger = new Logger('Keys');
  private readonly cache = new Map<string, { principal: Principal; at: number }>();
  private readonly revokeListeners: Array<(keyId: string) => void> = [];

  constructor(
    private readonly db: DbService,
    private readonly config: AppConfig,
  ) {
    db.whenReady(() => this.bootstrapAdmin());
  }

  onRevoke(fn: (keyId: string) => void): void {
    this.revokeListeners.push(fn);
  }

  async authenticate(secret: string): Promise<Principal | undefined> {
    const hash = hashSecret(secret);
    const hit = this.cache.get(hash);
    if (hit && Date.now() - hit.at < CACHE_TTL_MS) return hit.principal;
    const rows = await this.db.query(
      'SELECT id, role, projects FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL',
      [hash],
    );
    if (rows.length === 0) {
      this.cache.delete(hash);
      return undefined;
    }
    const principal = new Principal(rows[0].id, rows[0].role as Role, JSON.parse(rows[0].projects));
    if (this.cache.size > 10000) this.cache.clear();
    this.cache.set(hash, { principal, at: Date.now() });
    return principal;
  }

  async create(name: string, role: Role, projects: string[]): Promise<KeyView & { key: string }> {
    const key = `stl_${randomBytes(32).toString('base64url')}`;
    const id = randomUUID();
    const now = Date.now();
    await this.db.query(
      'INSERT INTO api_keys (id, name, role, projects, key_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      [id, name, role, JSON.stringify(projects), hashSecret(key), now],
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
    const rows = await this.db.query('SELECT key_hash FROM api_keys WHERE id = ? AND revoked_at IS NULL', [
      id,
    ]);
    if (rows.length === 0) throw notFound(`key ${id}`);
    await this.db.query('UPDATE api_keys SET revoked_at = ? WHERE id = ?', [Date.now(), id]);
    this.cache.delete(rows[0].key_hash);
    for (const fn of this.revokeListeners) fn(id);
  }

  /** ADMIN_TOKEN, stored hashed; when unset, one is generated on first start and printed once. */
  private async bootstrapAdmin(): Promise<void> {
    const token = this.config.adminToken;
    const existing = await this.db.query('SELECT key_hash FROM api_keys WHERE id = ?', [ADMIN_KEY_ID]);
    if (token) {
      const hash = hashSecret(token);
      if (existing.length === 0) await this.insertAdmin(hash);
      else if (existing[0].key_hash !== hash)
        await this.db.query('UPDATE api_keys SET key_hash = ?, revoked_at = NULL WHERE id = ?', [
          hash,
          ADMIN_KEY_ID,
        ]);
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
