import { Injectable } from '@nestjs/common';
import { DbService } from '../../database/db.service';

/** A webhook row as the delivery loop needs it (secret still sealed). */
export interface WebhookRow {
  id: string;
  projectId: string;
  url: string;
  types: string[] | null;
  sealedSecret: string;
  cursor: number;
  attempts: number;
  nextAttemptAt: number | null;
  lastDeliveredAt: number | null;
  lastError: string | null;
  failingSince: number | null;
  createdAt: number;
}

const COLUMNS =
  'id, project_id, url, types, secret, cursor_seq, attempts, next_attempt_at, last_delivered_at, last_error, failing_since, created_at';

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function toRow(r: any): WebhookRow {
  return {
    id: r.id,
    projectId: r.project_id,
    url: r.url,
    types: r.types === 'null' ? null : (JSON.parse(r.types) as string[]),
    sealedSecret: r.secret,
    cursor: Number(r.cursor_seq),
    attempts: Number(r.attempts),
    nextAttemptAt: num(r.next_attempt_at),
    lastDeliveredAt: num(r.last_delivered_at),
    lastError: r.last_error ?? null,
    failingSince: num(r.failing_since),
    createdAt: Number(r.created_at),
  };
}

/**
 * The webhooks table. Conditional updates (the lease, the cursor) run as one-statement transactions so that
 * both drivers report how many rows changed: that count says whether this instance still holds the lease.
 */
@Injectable()
export class WebhooksRepository {
  constructor(private readonly db: DbService) {}

  async insert(row: WebhookRow): Promise<void> {
    await this.db.query(
      'INSERT INTO webhooks (id, project_id, url, types, secret, cursor_seq, attempts, created_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?)',
      [
        row.id,
        row.projectId,
        row.url,
        JSON.stringify(row.types),
        row.sealedSecret,
        row.cursor,
        row.createdAt,
      ],
    );
  }

  async countForProject(projectId: string): Promise<number> {
    const rows = await this.db.query('SELECT COUNT(*) AS n FROM webhooks WHERE project_id = ?', [projectId]);
    return Number(rows[0]?.n ?? 0);
  }

  async listForProject(projectId: string): Promise<WebhookRow[]> {
    const rows = await this.db.query(
      `SELECT ${COLUMNS} FROM webhooks WHERE project_id = ? ORDER BY created_at, id`,
      [projectId],
    );
    return rows.map(toRow);
  }

  async get(id: string): Promise<WebhookRow | undefined> {
    const rows = await this.db.query(`SELECT ${COLUMNS} FROM webhooks WHERE id = ?`, [id]);
    return rows.length ? toRow(rows[0]) : undefined;
  }

  async delete(projectId: string, id: string): Promise<boolean> {
    return (await this.exec('DELETE FROM webhooks WHERE id = ? AND project_id = ?', [id, projectId])) > 0;
  }

  /** Webhooks no instance holds (never leased, released, or their holder's lease ran out). */
  async unleased(now: number, limit: number): Promise<string[]> {
    const rows = await this.db.query(
      'SELECT id FROM webhooks WHERE lease_owner IS NULL OR lease_expires_at < ? ORDER BY created_at LIMIT ?',
      [now, limit],
    );
    return rows.map((r) => String(r.id));
  }

  /** Takes the lease when nobody holds it or its holder's ran out: true when this caller won. */
  async acquire(id: string, owner: string, now: number, until: number): Promise<boolean> {
    return (
      (await this.exec(
        'UPDATE webhooks SET lease_owner = ?, lease_expires_at = ? WHERE id = ? AND (lease_owner IS NULL OR lease_expires_at < ?)',
        [owner, until, id, now],
      )) === 1
    );
  }

  /** Extends the lease; false when it is lost (taken over, or the webhook was deleted). */
  async renew(id: string, owner: string, until: number): Promise<boolean> {
    return (
      (await this.exec('UPDATE webhooks SET lease_expires_at = ? WHERE id = ? AND lease_owner = ?', [
        until,
        id,
        owner,
      ])) === 1
    );
  }

  /** Extends every lease `owner` holds, and answers the ids it still holds (a deleted or taken one is gone). */
  async renewAll(owner: string, until: number): Promise<Set<string>> {
    await this.db.query('UPDATE webhooks SET lease_expires_at = ? WHERE lease_owner = ?', [until, owner]);
    const rows = await this.db.query('SELECT id FROM webhooks WHERE lease_owner = ?', [owner]);
    return new Set(rows.map((r) => String(r.id)));
  }

  async releaseAll(owner: string): Promise<void> {
    await this.db.query(
      'UPDATE webhooks SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = ?',
      [owner],
    );
  }

  /** An acknowledged batch: the cursor moves, the failure state clears. */
  async advance(id: string, owner: string, cursor: number, deliveredAt: number | null): Promise<boolean> {
    const delivered = deliveredAt === null ? '' : ', last_delivered_at = ?';
    const params: unknown[] = [cursor];
    if (deliveredAt !== null) params.push(deliveredAt);
    params.push(id, owner);
    return (
      (await this.exec(
        `UPDATE webhooks SET cursor_seq = ?, attempts = 0, next_attempt_at = NULL, last_error = NULL, failing_since = NULL${delivered} WHERE id = ? AND lease_owner = ?`,
        params,
      )) === 1
    );
  }

  /**
   * Moves the cursor past events of unselected types (no delivery, so the failure state stays as it is);
   * only forward, and only while `owner` holds the lease.
   */
  async saveCursor(id: string, owner: string, cursor: number): Promise<void> {
    await this.exec(
      'UPDATE webhooks SET cursor_seq = ? WHERE id = ? AND lease_owner = ? AND cursor_seq < ?',
      [cursor, id, owner, cursor],
    );
  }

  async recordFailure(
    id: string,
    owner: string,
    attempts: number,
    nextAttemptAt: number,
    error: string,
    now: number,
  ): Promise<boolean> {
    return (
      (await this.exec(
        'UPDATE webhooks SET attempts = ?, next_attempt_at = ?, last_error = ?, failing_since = COALESCE(failing_since, ?) WHERE id = ? AND lease_owner = ?',
        [attempts, nextAttemptAt, error.slice(0, 500), now, id, owner],
      )) === 1
    );
  }

  private exec(sql: string, params: unknown[]): Promise<number> {
    return this.db.transaction(async (tx) => (await tx.exec(sql, params)).affectedRows);
  }
}
