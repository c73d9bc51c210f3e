import { io, type Socket } from 'socket.io-client';
import { SteplineError } from './errors.js';
import type { Stepline } from './stepline.js';
import { EVENT_TYPES, type Snapshot, type SteplineEvent, type SubscribeAck } from './types.js';

export type WatchStatus = 'connecting' | 'live' | 'reconnecting' | 'offline' | 'closed';

export interface WatchOptions {
  /** Resume after this seq (what an earlier watch's `lastSeq` was). Without it: live events only. */
  since?: number;
  /** Watch one workflow (`join_job`) instead of the whole project; its seqs are the project's, with gaps. */
  workflowId?: string;
  /**
   * A project watch asks the server for batched delivery (`subscribe` with `batch: true`: several events to
   * one `events` message when the project is busy, less work on both ends). `onEvent` still sees each event
   * once, in seq order. Default true; a server that does not know the option is asked again without it.
   */
  batch?: boolean;
  /** Each event once, in seq order. */
  onEvent: (event: SteplineEvent) => void;
  /**
   * The resume point was older than the log keeps: here is the state at `lastSeq` (§12), and events go on
   * after it. A resume point ahead of the server's log (another database, a restore) resets to an empty
   * snapshot at 0, and the log is then replayed from its start (or reset again with the server's snapshot).
   */
  onReset?: (snapshot: Snapshot, lastSeq: number) => void;
  onStatus?: (status: WatchStatus, error?: SteplineError) => void;
}

export interface Watch {
  /** The seq of the last event delivered (persist it, pass it back as `since`). */
  readonly lastSeq: number | undefined;
  readonly status: WatchStatus;
  /** How many events the server said it replays on the last (re)subscribe (what was missed). */
  readonly replayed: number;
  close(): void;
}

const TYPES = new Set<string>(EVENT_TYPES);
/** Failed connection attempts in a row after which the watch says `offline` (it keeps trying). */
const OFFLINE_AFTER = 3;

/**
 * A Socket.IO subscription that never loses or repeats an event: it subscribes with `since` = the last seq it
 * delivered on every (re)connect, drops anything at or below it, holds events back until the subscribe ack,
 * and resubscribes when a project's seqs show a gap.
 */
export class Watcher implements Watch {
  private socket: Socket;
  private seq: number | undefined;
  private state: WatchStatus = 'connecting';
  private awaitingAck = true;
  private buffer: SteplineEvent[] = [];
  private failures = 0;
  private generation = 0;
  private isClosed = false;
  private retryTimer?: ReturnType<typeof setTimeout>;
  /** Batched delivery asked for (a project watch, unless turned off or refused by the server). */
  private batch: boolean;
  private replayCount = 0;

  constructor(
    sl: Stepline,
    readonly projectId: string,
    private readonly opts: WatchOptions,
  ) {
    this.seq = opts.since;
    this.batch = !opts.workflowId && opts.batch !== false;
    const base = sl.transport.baseUrl;
    this.socket = io(base, {
      forceNew: true,
      reconnectionDelay: 200,
      reconnectionDelayMax: 2000,
      ...(sl.options.socket ?? {}),
      auth: { token: sl.transport.token },
    });
    this.socket.on('connect', () => {
      this.failures = 0;
      void this.subscribe();
    });
    this.socket.on('disconnect', (reason) => {
      if (this.isClosed) return;
      this.awaitingAck = true;
      this.buffer = [];
      this.setStatus('reconnecting');
      // the server closed this socket (e.g. a slow consumer): socket.io-client does not reconnect by itself
      if (reason === 'io server disconnect') this.retryConnect();
    });
    this.socket.on('connect_error', (err: Error) => {
      if (this.isClosed) return;
      this.failures++;
      if (err.message === 'unauthorized' || err.message === 'forbidden') {
        this.setStatus('offline', new SteplineError(401, err.message, `socket: ${err.message}`));
        return; // a key that does not work will not start working
      }
      if (this.failures >= OFFLINE_AFTER) this.setStatus('offline');
      else if (this.state === 'live') this.setStatus('reconnecting');
      if (!this.socket.active) this.retryConnect(); // a middleware refusal (e.g. rate_limited): try again later
    });
    const receive = (payload: SteplineEvent) => {
      if (!payload || typeof payload.seq !== 'number' || !TYPES.has(payload.type)) return;
      if (this.awaitingAck) this.buffer.push(payload);
      else this.deliver(payload);
    };
    this.socket.onAny((name: string, payload: SteplineEvent) => {
      if (TYPES.has(name)) receive(payload);
    });
    // batched delivery: an array of envelopes in seq order
    this.socket.on('events', (payload: unknown) => {
      if (Array.isArray(payload)) for (const e of payload as SteplineEvent[]) receive(e);
    });
  }

  get lastSeq(): number | undefined {
    return this.seq;
  }

  get status(): WatchStatus {
    return this.state;
  }

  get replayed(): number {
    return this.replayCount;
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    clearTimeout(this.retryTimer);
    this.socket.off();
    this.socket.offAny();
    this.socket.disconnect();
    this.setStatus('closed');
  }

  private retryConnect(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(
      () => {
        if (!this.isClosed && !this.socket.connected) this.socket.connect();
      },
      Math.min(2000, 200 * 2 ** this.failures),
    );
  }

  private setStatus(s: WatchStatus, err?: SteplineError): void {
    if (this.state === 'closed') return;
    if (s === this.state && !err) return;
    this.state = s;
    this.opts.onStatus?.(s, err);
  }

  private async subscribe(): Promise<void> {
    const gen = ++this.generation;
    this.awaitingAck = true;
    const body: Record<string, unknown> = this.opts.workflowId
      ? { workflowId: this.opts.workflowId }
      : { projectId: this.projectId };
    if (this.seq !== undefined) body.since = this.seq;
    if (this.batch) body.batch = true;
    let ack: SubscribeAck;
    try {
      ack = (await this.socket
        .timeout(15_000)
        .emitWithAck(this.opts.workflowId ? 'join_job' : 'subscribe', body)) as SubscribeAck;
    } catch {
      if (gen === this.generation && this.socket.connected && !this.isClosed) void this.subscribe();
      return;
    }
    if (gen !== this.generation || this.isClosed) return;
    if (!ack?.ok) {
      const code = ack?.code ?? 'unavailable';
      if (code === 'validation_failed' && body.batch) {
        // a server from before batched delivery refuses the unknown field: one message per event, then
        this.batch = false;
        if (this.socket.connected && !this.isClosed) void this.subscribe();
        return;
      }
      if (code === 'unavailable' || code === 'rate_limited') {
        setTimeout(() => gen === this.generation && this.socket.connected && void this.subscribe(), 1000);
        return;
      }
      this.setStatus(
        'offline',
        new SteplineError(code === 'forbidden' ? 403 : 400, code, `subscribe: ${code}`),
      );
      return;
    }
    // a resume point ahead of the server's log (another database, a restore): its seqs start over, so what
    // we hold is not current any more: reset to nothing and subscribe again from the start of the log (the
    // server replays it, or sends its own snapshot when it no longer keeps the start)
    if (!this.opts.workflowId && this.seq !== undefined && (ack.lastSeq ?? 0) < this.seq) {
      this.seq = 0;
      this.opts.onReset?.({ workflows: [], truncated: false }, 0);
      if (gen === this.generation && !this.isClosed) void this.subscribe();
      return;
    }
    if (ack.reset) {
      const lastSeq = ack.lastSeq ?? 0;
      this.seq = lastSeq;
      this.opts.onReset?.(ack.snapshot ?? { workflows: [], truncated: false }, lastSeq);
    } else if (this.seq === undefined) {
      this.seq = ack.lastSeq ?? 0;
    }
    this.replayCount = ack.replayed ?? 0;
    const held = this.buffer.sort((a, b) => a.seq - b.seq);
    this.buffer = [];
    this.awaitingAck = false;
    this.setStatus('live');
    for (const e of held) {
      if (this.awaitingAck) break; // a gap started a resubscribe
      this.deliver(e);
    }
  }

  private deliver(e: SteplineEvent): void {
    if (this.isClosed) return;
    if (this.seq !== undefined && e.seq <= this.seq) return;
    if (!this.opts.workflowId && this.seq !== undefined && e.seq > this.seq + 1) {
      // a gap in a project's seqs: ask again from the last delivered one (the server replays the rest)
      this.buffer = [e];
      void this.subscribe();
      return;
    }
    this.seq = e.seq;
    try {
      this.opts.onEvent(e);
    } catch (err) {
      setTimeout(() => {
        throw err;
      });
    }
  }
}
