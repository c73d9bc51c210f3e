import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { EventBus, QueryBus } from '@nestjs/cqrs';
import { Subscription as RxSubscription } from 'rxjs';
import { CommittedEvent } from '../../common/events/committed-events';
import { EventLogRepository, SeqOrderer } from '../event-log';
import { EventBridge } from '../cluster';
import { MetricsService } from '../metrics';
import type { EventEnvelope } from '../../common/events/event-types';
import { GetResetSnapshotQuery, type ResetSnapshot } from '../workflows';

const REPLAY_PAGE = 1000;
/** With several instances: how long a hole may wait for a late message before it is read from the log. */
const CLUSTER_GAP_GRACE_MS = 20;

/**
 * One consumer of a project's events: a socket's project or job subscription, or an SSE stream.
 * While it catches up the hub calls `deliver` for each event; once it is caught up the hub calls
 * `goLive` and from then on it gets events through `onLive` (sockets: their room; SSE: `deliver`).
 */
export interface Subscriber {
  readonly projectId: string;
  /** Set for a job subscription: only this workflow's events. */
  readonly workflowId?: string;
  /** Holds live events for subscribers that do not use a shared room. */
  readonly direct: boolean;
  deliver(env: EventEnvelope): void;
  /**
   * Called after each run of `deliver` calls that happen together (a replay page, a drained buffer, one
   * published event): a subscriber that coalesces events (batched sockets) sends what it holds here, so
   * that nothing it holds can be overtaken by a later room broadcast.
   */
  flush?(): void;
  /**
   * A reset (§12): called with the result, snapshot included, before any event after its lastSeq is
   * delivered, so that the watcher has the snapshot first (the socket's ack, the SSE reset frame).
   */
  announceReset?(res: SubscribeResult): void;
  /** Live from here: every event after `liveAfter` (the project's published seq now) comes through `onLive`. */
  goLive(liveAfter: number): void;
  isClosed(): boolean;
}

export interface SubscribeResult {
  lastSeq: number;
  replayed: number;
  reset?: true;
  snapshot?: ResetSnapshot['snapshot'];
}

interface CatchUp {
  sub: Subscriber;
  lastSent: number;
  replaying: boolean;
  buffer: EventEnvelope[];
}

/** Per-project delivery state: the events in seq order (published so far), and who is catching up or live. */
class Channel {
  ready!: Promise<void>;
  order!: SeqOrderer;
  catchingUp = new Set<CatchUp>();
  /** Live subscribers the hub delivers to itself (SSE streams), each event one by one. */
  live = new Set<Subscriber>();
  /**
   * Live subscribers served by a room (sockets): kept only so that the channel lives while they watch. The
   * hub does not visit them per event: one broadcast per room reaches them all.
   */
  inRooms = new Set<Subscriber>();
  get lastPublished(): number {
    return this.order.lastEmitted;
  }
  get size(): number {
    return this.catchingUp.size + this.live.size + this.inRooms.size;
  }
}

export type LiveListener = (env: EventEnvelope) => void;

/**
 * The delivery hub: committed events in (from the EventBus), subscribers out, with the §4 guarantee:
 * with `since`, every event with seq > since once and in order, then live ones, no gap and no duplicate,
 * even while events are being written.
 *
 * How: a subscriber first replays from the event log while live events for it are buffered, then drains
 * the buffer (dropping anything ≤ the last seq it sent), and goes live only once the project's published
 * seq has reached what it sent. Per project the hub publishes strictly in seq order: an event that arrives
 * ahead of a missing one waits while the gap is read from the log (the database seq is the truth).
 *
 * With REDIS_URL, events committed by other instances come in through the EventBridge too, in the same
 * per-project order (SeqOrderer): a lost or late message is a hole like any other, and the bridge's
 * periodic read of the project counters reveals a lost last event.
 */
@Injectable()
export class DeliveryHub implements OnModuleDestroy {
  private readonly logger = new Logger('DeliveryHub');
  private readonly channels = new Map<string, Channel>();
  private readonly liveListeners: LiveListener[] = [];
  private readonly sub: RxSubscription;
  private readonly gapGraceMs: number;

  constructor(
    eventBus: EventBus,
    private readonly log: EventLogRepository,
    bridge: EventBridge,
    private readonly metrics: MetricsService,
    private readonly queries: QueryBus,
  ) {
    this.sub = eventBus.subscribe((e) => {
      if (e instanceof CommittedEvent) this.onCommitted(e.envelope);
    });
    this.gapGraceMs = bridge.enabled ? CLUSTER_GAP_GRACE_MS : 0;
    bridge.onRemote((events) => {
      for (const env of events) this.onCommitted(env);
    });
    bridge.onTail((tails) => {
      for (const [projectId, lastSeq] of tails) this.channels.get(projectId)?.order.observe(lastSeq);
    });
  }

  /** Room-based consumers (the socket gateway) get each live event once here, in seq order per project. */
  onLive(fn: LiveListener): void {
    this.liveListeners.push(fn);
  }

  async subscribe(sub: Subscriber, since: number | undefined): Promise<SubscribeResult> {
    const ch = this.channel(sub.projectId);
    await ch.ready;
    const lastSeq = await this.log.lastSeq(sub.projectId);
    let from = since ?? lastSeq;
    let reset = false;
    if (since !== undefined && since > lastSeq) from = lastSeq; // a client ahead of the log gets live events from here
    // the channel went idle and was dropped while this waited (its last subscriber left): use the new one
    if (this.channels.get(sub.projectId) !== ch) return this.subscribe(sub, since);
    const cu: CatchUp = { sub, lastSent: from, replaying: true, buffer: [] };
    ch.catchingUp.add(cu);
    let replayed = 0;
    let snapshot: ResetSnapshot | undefined;
    try {
      if (since !== undefined && since < lastSeq) {
        for (;;) {
          const page = await this.log.replayPage(sub.projectId, cu.lastSent, REPLAY_PAGE, sub.workflowId);
          if (page.reset) {
            // §12: the state at one lastSeq, read consistently; the events after it come from the buffer
            // (this subscriber was registered before the read, so nothing published after it is missed)
            // and then live, and anything at or below it is dropped
            reset = true;
            snapshot = await this.queries.execute(new GetResetSnapshotQuery(sub.projectId, sub.workflowId));
            cu.lastSent = Math.max(cu.lastSent, snapshot.lastSeq);
            break;
          }
          if (sub.isClosed()) break;
          for (const env of page.items) {
            sub.deliver(env);
            cu.lastSent = env.seq;
            replayed++;
          }
          sub.flush?.();
          if (page.items.length < REPLAY_PAGE) break;
        }
      }
    } catch (err) {
      ch.catchingUp.delete(cu);
      this.dropIfIdle(sub.projectId, ch);
      throw err;
    }
    const result: SubscribeResult = reset
      ? { lastSeq: cu.lastSent, replayed: 0, reset: true, snapshot: snapshot!.snapshot }
      : { lastSeq: cu.lastSent, replayed };
    if (reset) sub.announceReset?.(result);
    cu.replaying = false;
    for (const env of cu.buffer.splice(0)) this.sendCatchUp(cu, env);
    sub.flush?.();
    this.tryGoLive(ch, cu);
    return result;
  }

  unsubscribe(sub: Subscriber): void {
    const ch = this.channels.get(sub.projectId);
    if (!ch) return;
    for (const cu of ch.catchingUp) if (cu.sub === sub) ch.catchingUp.delete(cu);
    ch.live.delete(sub);
    ch.inRooms.delete(sub);
    this.dropIfIdle(sub.projectId, ch);
  }

  stats(): { channels: number; subscribers: number } {
    let subscribers = 0;
    for (const ch of this.channels.values()) subscribers += ch.size;
    return { channels: this.channels.size, subscribers };
  }

  // ---- internals -----------------------------------------------------------------------------------------

  private channel(projectId: string): Channel {
    let ch = this.channels.get(projectId);
    if (!ch) {
      const created = new Channel();
      created.order = new SeqOrderer({
        read: (after, limit) => {
          this.metrics.gapFills.inc({ consumer: 'delivery' });
          return this.log.replayPage(projectId, after, Math.min(limit, REPLAY_PAGE));
        },
        emit: (env) => this.publish(created, env),
        gapGraceMs: this.gapGraceMs,
        onError: (err) => this.logger.warn(`gap fill for ${projectId} failed: ${(err as Error).message}`),
      });
      // the project's position when the channel opens: what is at or below it, subscribers replay themselves
      created.ready = this.log.lastSeq(projectId).then((last) => created.order.start(last));
      created.ready.catch(() => {
        created.order.close();
        if (this.channels.get(projectId) === created) this.channels.delete(projectId);
      });
      this.channels.set(projectId, created);
      ch = created;
    }
    return ch;
  }

  private dropIfIdle(projectId: string, ch: Channel): void {
    if (ch.size === 0 && this.channels.get(projectId) === ch) {
      this.channels.delete(projectId);
      ch.order.close();
    }
  }

  private onCommitted(env: EventEnvelope): void {
    // a project nobody here watches has no channel: nothing to deliver
    this.channels.get(env.projectId)?.order.offer(env);
  }

  private publish(ch: Channel, env: EventEnvelope): void {
    for (const fn of this.liveListeners) fn(env);
    for (const sub of ch.live) {
      if (sub.isClosed()) ch.live.delete(sub);
      else if (!sub.workflowId || sub.workflowId === env.workflowId) sub.deliver(env);
    }
    for (const cu of ch.catchingUp) {
      if (cu.sub.isClosed()) {
        ch.catchingUp.delete(cu);
        continue;
      }
      if (cu.replaying) cu.buffer.push(env);
      else {
        this.sendCatchUp(cu, env);
        cu.sub.flush?.();
        this.tryGoLive(ch, cu);
      }
    }
  }

  private sendCatchUp(cu: CatchUp, env: EventEnvelope): void {
    if (env.seq <= cu.lastSent) return;
    cu.lastSent = env.seq;
    if (!cu.sub.workflowId || cu.sub.workflowId === env.workflowId) cu.sub.deliver(env);
  }

  /** Live once the project's published seq has caught up with what this subscriber already sent. */
  private tryGoLive(ch: Channel, cu: CatchUp): void {
    if (cu.replaying || ch.lastPublished < cu.lastSent || !ch.catchingUp.has(cu)) return;
    ch.catchingUp.delete(cu);
    if (cu.sub.isClosed()) return;
    // room members are kept too, so that the channel lives while anyone watches the project
    (cu.sub.direct ? ch.live : ch.inRooms).add(cu.sub);
    cu.sub.goLive(ch.lastPublished);
  }

  onModuleDestroy(): void {
    this.sub.unsubscribe();
  }
}
