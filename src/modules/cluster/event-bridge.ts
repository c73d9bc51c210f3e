import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { DbService } from '../../database/db.service';
import type { EventEnvelope } from '../../common/events/event-types';
import { ClusterBus } from './cluster-bus';

/** How often the project counters are read to catch events whose message was lost (the tail check). */
export const TAIL_POLL_MS = 500;
/** Projects written in this window are checked; instances' clocks must agree to well within it. */
const TAIL_WINDOW_MS = 60_000;
/** Events per Redis message: a big group commit is split so that no single message is huge to parse. */
const CHUNK = 500;

export type RemoteEventsListener = (events: EventEnvelope[]) => void;
export type TailListener = (tails: ReadonlyArray<readonly [projectId: string, lastSeq: number]>) => void;

/**
 * Committed events across instances (REDIS_URL). The instance that committed announces them after the
 * commit, one message per group commit, just before its own EventBus gets them. Other instances
 * hand them to their delivery hub, read model and claim waiters through `onRemote` — never to their
 * EventBus, so sagas, projections and metrics run once, on the instance that committed.
 *
 * Messages can be lost or arrive after a later local event; consumers put events in seq order and read
 * holes from the log (SeqOrderer). A lost LAST event leaves no later event to reveal it: every
 * TAIL_POLL_MS the counters of recently written projects are read and handed to `onTail`, and the
 * consumers fill up to them. So delivery stays complete while Redis is away, only slower.
 */
@Injectable()
export class EventBridge implements OnApplicationShutdown {
  private readonly logger = new Logger('EventBridge');
  readonly enabled: boolean;
  private readonly remote: RemoteEventsListener[] = [];
  private readonly tail: TailListener[] = [];
  private timer?: NodeJS.Timeout;
  private polling = false;
  /** The counters the previous poll read: handed out one poll later (see pollTail). */
  private previous: Array<readonly [string, number]> = [];

  constructor(
    private readonly bus: ClusterBus,
    private readonly db: DbService,
  ) {
    this.enabled = bus.enabled;
    if (!this.enabled) return;
    bus.on('events', (payload) => {
      const events = JSON.parse(payload) as EventEnvelope[];
      for (const fn of this.remote) fn(events);
    });
    // after a reconnect messages were lost for sure: hand out what the counters say at once
    bus.onReconnect(() => void this.pollTail(true));
    db.whenReady(() => {
      this.timer = setInterval(() => void this.pollTail(), TAIL_POLL_MS);
      this.timer.unref();
    });
  }

  /** Events committed by other instances, in the order each of them committed. */
  onRemote(fn: RemoteEventsListener): void {
    this.remote.push(fn);
  }

  /**
   * The counters of recently written projects, every TAIL_POLL_MS (and when Redis comes back). Each poll
   * hands out the counters of the poll before: events at or below them were committed at least
   * TAIL_POLL_MS ago, so one that has not arrived is lost, not merely in flight, and a busy instance that
   * runs a few ms behind does not read the log for nothing. A lost last event is so delivered within
   * about 2 × TAIL_POLL_MS.
   */
  onTail(fn: TailListener): void {
    this.tail.push(fn);
  }

  /** Called by the write path with each commit's events, in commit order. */
  announce(events: EventEnvelope[]): void {
    if (!this.enabled) return;
    for (let i = 0; i < events.length; i += CHUNK)
      this.bus.publish(
        'events',
        JSON.stringify(events.length <= CHUNK ? events : events.slice(i, i + CHUNK)),
      );
  }

  private async pollTail(now = false): Promise<void> {
    if (this.polling || !this.db.isReady || this.tail.length === 0) return;
    this.polling = true;
    try {
      const rows = await this.db.query<{ id: string; last_seq: unknown }>(
        'SELECT id, last_seq FROM projects WHERE last_event_at >= ?',
        [Date.now() - TAIL_WINDOW_MS],
      );
      const current = rows.map((r) => [r.id, Number(r.last_seq)] as const);
      const tails = now ? current : this.previous;
      this.previous = current;
      for (const fn of this.tail) fn(tails);
    } catch (err) {
      this.logger.debug(`tail check failed: ${(err as Error).message}`);
    } finally {
      this.polling = false;
    }
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
