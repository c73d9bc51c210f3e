import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { EventBus, QueryBus } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { Counter, Gauge } from 'prom-client';
import type { Subscription } from 'rxjs';
import { CommittedEvent } from '../../common/events/committed-events';
import type { EventEnvelope } from '../../common/events/event-types';
import { AppConfig } from '../../config/app.config';
import { DbService } from '../../database/db.service';
import { ClusterBus, EventBridge } from '../cluster';
import { EventLogRepository } from '../event-log';
import { GetResetSnapshotQuery } from '../workflows';
import { MetricsService } from '../metrics';
import { AllowedHostsProvider } from './allowed-hosts.provider';
import { backoffMs } from './backoff';
import { ConcurrencyLimit } from './concurrency-limit';
import { SecretBoxProvider } from './secret-box.provider';
import { DELIVERY_TIMEOUT_MS, sendDelivery, type SendResult } from './webhook-sender';
import { WebhookRow, WebhooksRepository } from './webhooks.repository';

/** Events per delivery (and per log read: the memory one endpoint may hold is one batch). */
export const BATCH_SIZE = 100;
/** A lease lasts this long unless renewed; an instance that died holds its webhooks at most this long. */
const LEASE_MS = 15_000;
/** How often leases are renewed and unheld webhooks looked for. */
const SCAN_MS = 1000;
/** A held webhook with no wake-up reads the log at least this often (the slow poll). */
const IDLE_POLL_MS = 5000;
/**
 * A cursor moved past events of unselected types only is written at most this often (or with the next
 * acknowledged batch, or when the lease is handed back), not on every wake-up.
 */
const CURSOR_FLUSH_MS = 2000;
/** After a database error the loop waits this long before trying again. */
const ERROR_PAUSE_MS = 1000;

interface Pending {
  body: string;
  events: number;
  /** The cursor once this batch is acknowledged (past the events of other types read with it). */
  cursor: number;
}

interface Held {
  row: WebhookRow;
  types: Set<string> | null;
  secret: string | null;
  secretError?: string;
  cursor: number;
  /** The cursor as the database has it; `cursor` is ahead of it after events of unselected types only. */
  persisted: number;
  /** When a cursor ahead of `persisted` is written at the latest (0: nothing to write). */
  flushDue: number;
  failures: number;
  nextAttemptAt: number;
  leaseUntil: number;
  seenSeq: number;
  woken: boolean;
  wake?: () => void;
  stopped: boolean;
  abort: AbortController;
}

/**
 * Delivers webhooks from the event log (CONTRACT §15). Each instance leases webhooks from their rows (one
 * holder at a time across the cluster, renewed every second, taken over when a holder's lease runs out) and
 * runs one loop per held webhook: read at most BATCH_SIZE events after the durable cursor, POST the ones of
 * the selected types, advance the cursor on a 2xx, otherwise retry the same batch with backoff, forever.
 * Loops wake on committed events (this instance's EventBus, other instances' through the EventBridge, the
 * bridge's tail check) and poll slowly. A loop has at most one request in flight, lasting at most 10 s. A
 * webhook whose last attempt failed (error, timeout, non-2xx) sends through WEBHOOK_CONCURRENCY shared slots;
 * a healthy one sends at once, without them: failing endpoints can only queue behind each other, never take
 * a healthy endpoint's turn. Writes never wait for a delivery.
 */
@Injectable()
export class WebhookDeliveryService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('Webhooks');
  readonly owner = randomUUID();
  private readonly held = new Map<string, Held>();
  private readonly byProject = new Map<string, Set<Held>>();
  /** Requests of webhooks whose last attempt failed (WEBHOOK_CONCURRENCY of them at once); healthy ones skip it. */
  private readonly failingSlots: ConcurrencyLimit;
  private readonly sub: Subscription;
  private timer?: NodeJS.Timeout;
  private scanning = false;
  private closing = false;
  private readonly deliveries: Counter<'webhook'>;
  private readonly failures: Counter<'webhook'>;
  private readonly delivered: Counter<'webhook'>;
  private readonly lag: Gauge<'webhook'>;

  constructor(
    private readonly db: DbService,
    private readonly repo: WebhooksRepository,
    private readonly log: EventLogRepository,
    private readonly box: SecretBoxProvider,
    config: AppConfig,
    eventBus: EventBus,
    bridge: EventBridge,
    private readonly cluster: ClusterBus,
    metrics: MetricsService,
    private readonly queries: QueryBus,
    private readonly allowed: AllowedHostsProvider,
  ) {
    this.failingSlots = new ConcurrencyLimit(config.webhookConcurrency);
    const registers = [metrics.registry];
    this.deliveries = new Counter({
      name: 'stepline_webhook_deliveries_total',
      help: 'Webhook deliveries acknowledged with a 2xx, by webhook',
      labelNames: ['webhook'],
      registers,
    });
    this.failures = new Counter({
      name: 'stepline_webhook_delivery_failures_total',
      help: 'Webhook delivery attempts that failed (non-2xx, timeout, network error, refused address), by webhook',
      labelNames: ['webhook'],
      registers,
    });
    this.delivered = new Counter({
      name: 'stepline_webhook_events_delivered_total',
      help: 'Events in acknowledged webhook deliveries, by webhook',
      labelNames: ['webhook'],
      registers,
    });
    this.lag = new Gauge({
      name: 'stepline_webhook_lag_seqs',
      help: "How many seqs a webhook's cursor is behind its project's log (reported by the instance delivering it)",
      labelNames: ['webhook'],
      registers,
    });
    this.sub = eventBus.subscribe((e) => {
      if (e instanceof CommittedEvent) this.onCommitted(e.envelope.projectId, e.envelope.seq);
    });
    bridge.onRemote((events: EventEnvelope[]) => {
      for (const e of events) this.onCommitted(e.projectId, e.seq);
    });
    // a webhook deleted through another instance: stop delivering it at once
    cluster.on('webhooks', (id) => this.drop(id));
    bridge.onTail((tails) => {
      for (const [projectId, lastSeq] of tails) this.onCommitted(projectId, lastSeq);
    });
    db.whenReady(() => {
      this.timer = setInterval(() => void this.scan(), SCAN_MS);
      this.timer.unref();
      void this.scan();
    });
  }

  /** A webhook was created here: look for it now rather than at the next scan. */
  kick(): void {
    void this.scan();
  }

  /** A webhook was deleted here: its loop stops at once, here and (through Redis) on the instance holding it. */
  deleted(id: string): void {
    this.drop(id);
    this.cluster.publish('webhooks', id);
  }

  /**
   * Stops the loop of a deleted webhook. Should the message be lost, the holder stops at its next lease
   * renewal (within SCAN_MS): the row is gone.
   */
  private drop(id: string): void {
    const h = this.held.get(id);
    if (h) this.stop(h);
    for (const m of [this.deliveries, this.failures, this.delivered]) m.remove({ webhook: id });
  }

  private onCommitted(projectId: string, seq: number): void {
    const set = this.byProject.get(projectId);
    if (!set) return;
    for (const h of set) {
      if (seq <= h.seenSeq) continue;
      h.seenSeq = seq;
      this.lag.set({ webhook: h.row.id }, Math.max(0, seq - h.cursor));
      h.woken = true;
      h.wake?.();
    }
  }

  private async scan(): Promise<void> {
    if (this.scanning || this.closing || !this.db.isReady) return;
    this.scanning = true;
    try {
      const now = Date.now();
      if (this.held.size > 0) {
        const still = await this.repo.renewAll(this.owner, now + LEASE_MS);
        for (const h of [...this.held.values()]) {
          if (still.has(h.row.id)) h.leaseUntil = Math.max(h.leaseUntil, now + LEASE_MS);
          else this.stop(h);
        }
      }
      for (const id of await this.repo.unleased(now, 100)) {
        if (this.closing) return;
        if (this.held.has(id)) continue;
        if (!(await this.repo.acquire(id, this.owner, now, now + LEASE_MS))) continue;
        const row = await this.repo.get(id);
        if (row) this.start(row, now + LEASE_MS);
      }
    } catch (err) {
      this.logger.debug(`webhook scan failed: ${(err as Error).message}`);
    } finally {
      this.scanning = false;
    }
  }

  private start(row: WebhookRow, leaseUntil: number): void {
    const h: Held = {
      row,
      types: row.types ? new Set(row.types) : null,
      secret: null,
      cursor: row.cursor,
      persisted: row.cursor,
      flushDue: 0,
      failures: row.attempts,
      nextAttemptAt: row.nextAttemptAt ?? 0,
      leaseUntil,
      seenSeq: row.cursor,
      woken: true,
      stopped: false,
      abort: new AbortController(),
    };
    try {
      h.secret = this.box.box.open(row.sealedSecret);
    } catch {
      h.secretError = 'the secret cannot be decrypted: WEBHOOK_SECRET_KEY (or ADMIN_TOKEN) changed';
    }
    this.held.set(row.id, h);
    let set = this.byProject.get(row.projectId);
    if (!set) this.byProject.set(row.projectId, (set = new Set()));
    set.add(h);
    void this.loop(h);
  }

  private stop(h: Held): void {
    if (h.stopped) return;
    h.stopped = true;
    h.abort.abort();
    h.wake?.();
    if (this.held.get(h.row.id) === h) this.held.delete(h.row.id);
    const set = this.byProject.get(h.row.projectId);
    set?.delete(h);
    if (set?.size === 0) this.byProject.delete(h.row.projectId);
    this.lag.remove({ webhook: h.row.id });
  }

  /** Waits `ms`, or less when woken (if `wakeable`) or stopped. */
  private wait(h: Held, ms: number, wakeable: boolean): Promise<void> {
    if (h.stopped || (wakeable && h.woken)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        h.wake = undefined;
        resolve();
      };
      const t = setTimeout(done, ms);
      h.wake = wakeable ? done : () => h.stopped && done();
    });
  }

  private async loop(h: Held): Promise<void> {
    let pending: Pending | null = null;
    while (!h.stopped && !this.closing) {
      try {
        if (h.flushDue > 0 && Date.now() >= h.flushDue) await this.flushCursor(h);
        if (!pending) {
          h.woken = false;
          pending = await this.nextBatch(h);
          if (h.stopped) break;
          if (!pending) {
            const flushIn = h.flushDue > 0 ? Math.max(0, h.flushDue - Date.now()) : IDLE_POLL_MS;
            await this.wait(h, Math.min(IDLE_POLL_MS, flushIn), true);
            continue;
          }
        }
        const delay = h.nextAttemptAt - Date.now();
        if (delay > 0) {
          await this.wait(h, delay, false);
          continue;
        }
        // the lease must outlast the request (the scan renews it every SCAN_MS; this is for when it could not)
        if (h.leaseUntil - Date.now() < DELIVERY_TIMEOUT_MS + 2 * SCAN_MS) {
          const until = Date.now() + LEASE_MS;
          if (!(await this.repo.renew(h.row.id, this.owner, until))) break;
          h.leaseUntil = until;
        }
        const body = pending.body;
        const send = (): Promise<SendResult> =>
          h.stopped
            ? Promise.resolve({ ok: false, error: 'stopped' })
            : sendDelivery(h.row.url, h.row.id, h.secret as string, body, {
                allowedHosts: this.allowed.hosts,
                timeoutMs: DELIVERY_TIMEOUT_MS,
                signal: h.abort.signal,
              });
        // only a failing webhook queues for the shared slots, so failing ones can hold up nobody but each other
        const result: SendResult = !h.secret
          ? { ok: false, error: h.secretError }
          : h.failures > 0
            ? await this.failingSlots.run(send)
            : await send();
        if (h.stopped) break;
        const now = Date.now();
        if (result.ok) {
          if (!(await this.repo.advance(h.row.id, this.owner, pending.cursor, now))) break;
          h.cursor = h.persisted = pending.cursor;
          h.flushDue = 0;
          h.failures = 0;
          h.nextAttemptAt = 0;
          this.deliveries.inc({ webhook: h.row.id });
          this.delivered.inc({ webhook: h.row.id }, pending.events);
          this.lag.set({ webhook: h.row.id }, Math.max(0, h.seenSeq - h.cursor));
          pending = null;
        } else {
          h.failures++;
          h.nextAttemptAt = now + backoffMs(h.failures);
          this.failures.inc({ webhook: h.row.id });
          const error = result.error ?? 'failed';
          if (!(await this.repo.recordFailure(h.row.id, this.owner, h.failures, h.nextAttemptAt, error, now)))
            break;
        }
      } catch (err) {
        this.logger.debug(`webhook ${h.row.id}: ${(err as Error).message}`);
        await this.wait(h, ERROR_PAUSE_MS, false);
      }
    }
    this.stop(h);
  }

  /** Writes a cursor moved past unselected events only (it never moves a cursor back). */
  private async flushCursor(h: Held): Promise<void> {
    const cursor = h.cursor;
    if (cursor > h.persisted) {
      await this.repo.saveCursor(h.row.id, this.owner, cursor);
      h.persisted = Math.max(h.persisted, cursor);
    }
    h.flushDue = h.cursor > h.persisted ? Date.now() + CURSOR_FLUSH_MS : 0;
  }

  /**
   * The next delivery after the cursor, or null when there is nothing to send. Events of types the webhook
   * did not select are passed over without a request: the cursor moves past them in memory and is written
   * with the next acknowledged batch, within CURSOR_FLUSH_MS, or at shutdown (should an instance die first,
   * the events are read again and passed over again: still at least once).
   */
  private async nextBatch(h: Held): Promise<Pending | null> {
    for (;;) {
      const page = await this.log.readAfter(h.row.projectId, h.cursor, BATCH_SIZE);
      if (h.stopped) return null;
      if (page.lastSeq > h.seenSeq) h.seenSeq = page.lastSeq;
      this.lag.set({ webhook: h.row.id }, Math.max(0, h.seenSeq - h.cursor));
      if (page.reset) {
        // §12: the snapshot and its lastSeq come from one consistent read; events after that lastSeq follow
        const { lastSeq, snapshot } = await this.queries.execute(new GetResetSnapshotQuery(h.row.projectId));
        const body = JSON.stringify({ webhookId: h.row.id, reset: true, lastSeq, snapshot });
        return { body, events: 0, cursor: lastSeq };
      }
      if (page.items.length === 0) return null;
      const cursor = page.items[page.items.length - 1].seq;
      const events = h.types ? page.items.filter((e) => h.types?.has(e.type)) : page.items;
      if (events.length > 0)
        return { body: JSON.stringify({ webhookId: h.row.id, events }), events: events.length, cursor };
      h.cursor = cursor;
      if (h.flushDue === 0) h.flushDue = Date.now() + CURSOR_FLUSH_MS;
    }
  }

  /** Graceful stop: loops end, requests in flight are aborted, and the leases are handed back at once. */
  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    this.sub.unsubscribe();
    const held = [...this.held.values()];
    for (const h of held) this.stop(h);
    if (!this.db.isReady) return;
    // cursors moved past unselected events only are written before the leases go
    for (const h of held)
      if (h.cursor > h.persisted)
        await this.repo.saveCursor(h.row.id, this.owner, h.cursor).catch(() => undefined);
    await this.repo.releaseAll(this.owner).catch(() => undefined);
  }
}
