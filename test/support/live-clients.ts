import { EventSource } from 'eventsource';
import { io, ManagerOptions, Socket, SocketOptions } from 'socket.io-client';
import type { Client } from './http';

/**
 * Real live clients for the §4 tests: `socket.io-client` sockets, the `eventsource` package's EventSource,
 * a raw SSE reader (to see the frames themselves), collectors, and bounded waits.
 */

/** Every event type of CONTRACT §3. */
export const EVENT_TYPES = [
  'workflow:created',
  'workflow:started',
  'workflow:step:started',
  'workflow:step:progress',
  'workflow:step:completed',
  'workflow:step:failed',
  'workflow:step:skipped',
  'workflow:log',
  'workflow:completed',
  'workflow:failed',
  'workflow:cancelled',
  'workflow:requeued',
  'workflow:step:slow',
] as const;

export interface Envelope {
  seq: number;
  type: string;
  projectId: string;
  workflowId: string | null;
  stepId: string | null;
  attempt: number;
  at: string;
  data: any;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `probe` until it returns something truthy, at most `timeoutMs`; fails with `what` otherwise. */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  what: string,
  { timeoutMs = 10_000, intervalMs = 25 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/**
 * What is wrong with `seqs` as the exact range from..to, once each and in order: a short list of
 * problems (empty when right), readable even for thousands of seqs.
 */
export function rangeProblems(seqs: number[], from: number, to: number): string[] {
  const problems: string[] = [];
  const seen = new Set<number>();
  let prev = from - 1;
  for (const s of seqs) {
    if (seen.has(s)) problems.push(`duplicate ${s}`);
    else if (s !== prev + 1) problems.push(`after ${prev} came ${s}`);
    seen.add(s);
    prev = Math.max(prev, s);
    if (problems.length >= 10) break;
  }
  if (problems.length === 0 && prev !== to) problems.push(`ends at ${prev}, expected ${to}`);
  if (seqs.length && seqs[0] !== from && problems.length === 0) problems.push(`starts at ${seqs[0]}`);
  return problems;
}

// ---- sentinels ------------------------------------------------------------------------------------------

/**
 * A marker event, written through the REST API to prove that nothing else is on its way: events of one
 * project reach every subscriber in seq order, so once a client has the marker, everything the server sent it
 * before the marker has arrived. A quiet window without waiting: write a marker, wait for it, then check
 * that nothing unwanted came before it.
 */
export interface Marker {
  projectId: string;
  /** The workflow the marker event belongs to. */
  workflowId: string;
  matches(e: Envelope): boolean;
}

let markers = 0;

/**
 * Writes a marker into `projectId`: a new workflow of type `test-marker` (its `workflow:created`), or, with
 * `onWorkflow`, a log line on that workflow (for clients that watch one workflow, e.g. a job room).
 */
export async function writeMarker(api: Client, projectId: string, onWorkflow?: string): Promise<Marker> {
  const tag = `marker-${process.pid}-${++markers}`;
  if (onWorkflow) {
    const res = await api.post(`/api/workflows/${onWorkflow}/logs`, { level: 'debug', message: tag });
    if (res.status !== 201) throw new Error(`marker log: ${res.status} ${JSON.stringify(res.body)}`);
    return {
      projectId,
      workflowId: onWorkflow,
      matches: (e) =>
        e.projectId === projectId &&
        e.type === 'workflow:log' &&
        e.workflowId === onWorkflow &&
        e.data?.message === tag,
    };
  }
  const res = await api.post(`/api/projects/${projectId}/workflows`, {
    id: tag,
    type: 'test-marker',
    steps: [{ id: 'm' }],
  });
  if (res.status !== 201) throw new Error(`marker workflow: ${res.status} ${JSON.stringify(res.body)}`);
  return {
    projectId,
    workflowId: tag,
    matches: (e) => e.projectId === projectId && e.type === 'workflow:created' && e.workflowId === tag,
  };
}

/**
 * The project's events over REST up to the marker (written now), without it: what the log holds once every
 * write before the marker has committed.
 */
export async function restEventsBeforeMarker(
  api: Client,
  projectId: string,
  onWorkflow?: string,
): Promise<Envelope[]> {
  const marker = await writeMarker(api, projectId, onWorkflow);
  const all = await restEvents(api, projectId);
  const at = all.findIndex((e) => marker.matches(e));
  if (at === -1) throw new Error(`the marker ${marker.workflowId} is not in the log of ${projectId}`);
  return all.slice(0, at);
}

/**
 * The sentinel of a quiet window for live clients (sockets, EventSources): writes one marker into
 * `projectId` (on `onWorkflow` for clients in that workflow's job room), waits until every client has it,
 * then takes the marker out of what each one collected. Whatever the server sent them before the marker
 * has arrived by then, so the assertions that follow see anything unwanted that came.
 */
export async function settle(
  api: Client,
  projectId: string,
  clients: (SocketCollector | SseClient)[],
  onWorkflow?: string,
  timeoutMs = 10_000,
): Promise<Marker> {
  const marker = await writeMarker(api, projectId, onWorkflow);
  for (const c of clients) {
    const list = () => (c instanceof SocketCollector ? c.envelopes : c.events);
    await waitFor(() => list().some((e) => marker.matches(e)), `the marker ${marker.workflowId}`, {
      timeoutMs,
    });
    if (c instanceof SocketCollector) {
      for (let i = c.received.length - 1; i >= 0; i--)
        if (marker.matches(c.received[i].env)) c.received.splice(i, 1);
    } else {
      for (let i = c.events.length - 1; i >= 0; i--)
        if (marker.matches(c.events[i])) {
          c.events.splice(i, 1);
          c.names.splice(i, 1);
          c.ids.splice(i, 1);
        }
    }
  }
  return marker;
}

// ---- Socket.IO ------------------------------------------------------------------------------------------

export interface SocketOpts {
  /** Sent as `auth: { token }`. */
  token?: string;
  /** Sent as an `Authorization: Bearer` header instead. */
  headerToken?: string;
  transports?: ('websocket' | 'polling')[];
  reconnection?: boolean;
  /** With `reconnection`: the fixed delay before each attempt (default 200 ms). */
  reconnectionDelay?: number;
}

/** A socket that is not connected yet (so that collectors can be attached first). */
export function openSocket(url: string, opts: SocketOpts = {}): Socket {
  const o: Partial<ManagerOptions & SocketOptions> = {
    path: '/socket.io',
    transports: opts.transports ?? ['websocket'],
    reconnection: opts.reconnection ?? false,
    reconnectionDelay: opts.reconnectionDelay ?? 200,
    randomizationFactor: 0,
    forceNew: true,
    autoConnect: false,
    timeout: 10_000,
  };
  if (opts.token !== undefined) o.auth = { token: opts.token };
  if (opts.headerToken !== undefined) o.extraHeaders = { authorization: `Bearer ${opts.headerToken}` };
  return io(url, o);
}

const sockets = new Set<Socket>();

/** Connects and resolves once connected; rejects with the `connect_error`. Closed by `closeAllSockets`. */
export function connectSocket(
  url: string,
  opts: SocketOpts = {},
  socket = openSocket(url, opts),
): Promise<Socket> {
  sockets.add(socket);
  return new Promise((resolve, reject) => {
    const onConnect = () => {
      socket.off('connect_error', onError);
      resolve(socket);
    };
    const onError = (err: Error) => {
      socket.off('connect', onConnect);
      socket.close();
      reject(err);
    };
    socket.once('connect', onConnect);
    socket.once('connect_error', onError);
    socket.connect();
  });
}

/** Expects the connection to be refused and returns the `connect_error` message. */
export async function connectErrorMessage(url: string, opts: SocketOpts = {}): Promise<string> {
  try {
    await connectSocket(url, opts);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected connect_error, but the socket connected');
}

export function closeAllSockets(): void {
  for (const s of sockets) s.close();
  sockets.clear();
}

export type Ack = Record<string, any>;

/** Emits with an acknowledgement and resolves with it (bounded). */
export function ack(socket: Socket, event: string, payload: unknown, timeoutMs = 15_000): Promise<Ack> {
  return socket.timeout(timeoutMs).emitWithAck(event, payload) as Promise<Ack>;
}

/** Everything a socket receives, in arrival order, with the Socket.IO event name it came under. */
export class SocketCollector {
  /**
   * Every envelope, in arrival order. One that came in a batched `events` message is listed under its type,
   * with `batch` = the number of that message (1, 2, …); one sent on its own has no `batch`.
   */
  readonly received: { name: string; env: Envelope; batch?: number }[] = [];
  /** The number of envelopes in each `events` message, in arrival order. */
  readonly batches: number[] = [];
  disconnectReason?: string;

  constructor(readonly socket: Socket) {
    socket.onAny((name: string, payload: unknown) => {
      if (name !== 'events') return void this.received.push({ name, env: payload as Envelope });
      const envs = payload as Envelope[];
      this.batches.push(envs.length);
      for (const env of envs) this.received.push({ name: env.type, env, batch: this.batches.length });
    });
    socket.on('disconnect', (reason) => (this.disconnectReason = reason));
  }

  /** Envelopes that came on their own (one message per event). */
  unbatched(): number {
    return this.received.filter((r) => r.batch === undefined).length;
  }

  get envelopes(): Envelope[] {
    return this.received.map((r) => r.env);
  }

  seqs(projectId?: string): number[] {
    return this.received.filter((r) => !projectId || r.env.projectId === projectId).map((r) => r.env.seq);
  }

  lastSeq(): number {
    return this.received.length ? this.received[this.received.length - 1].env.seq : 0;
  }

  has(seq: number): boolean {
    return this.received.some((r) => r.env.seq === seq);
  }

  waitForSeq(seq: number, timeoutMs = 10_000): Promise<unknown> {
    return waitFor(() => this.received.some((r) => r.env.seq >= seq), `seq ${seq} on the socket`, {
      timeoutMs,
    });
  }

  clear(): void {
    this.received.length = 0;
  }

  /**
   * The sentinel of a quiet window: writes a marker into `projectId` (on `onWorkflow` for a job room), waits
   * until this socket has it, then takes the marker out of `received`. Whatever the server sent this socket
   * before the marker is in `received` by then; anything unwanted shows in the assertions that follow.
   */
  settle(api: Client, projectId: string, onWorkflow?: string): Promise<Marker> {
    return settle(api, projectId, [this], onWorkflow);
  }
}

// ---- Server-Sent Events ---------------------------------------------------------------------------------

const streams = new Set<{ close(): void }>();

/** Closes every EventSource and raw stream opened through this module. */
export function closeAllStreams(): void {
  for (const s of streams) s.close();
  streams.clear();
}

export interface SseOpts {
  /** Sent as an `Authorization: Bearer` header. */
  token?: string;
  /** Sent on the first request as `Last-Event-ID` (the EventSource sends its own on reconnects). */
  lastEventId?: string;
}

/**
 * The `eventsource` package's EventSource (v4: headers go through its `fetch` option), collecting every
 * §3 event type. Each request is recorded with the headers it carried, and `dropConnection()` breaks the
 * current response body like a lost network would, so that the EventSource reconnects on its own.
 */
export class SseClient {
  readonly events: Envelope[] = [];
  readonly names: string[] = [];
  readonly ids: string[] = [];
  readonly errors: { code?: number; message?: string; readyState: number }[] = [];
  readonly requests: Record<string, string>[] = [];
  /** `event: reset` frames (§12), parsed, with how many events had arrived before each. */
  readonly resets: { data: any; after: number }[] = [];
  opens = 0;
  readonly es: EventSource;
  private breakCurrent?: (err: Error) => void;

  constructor(url: string, opts: SseOpts = {}) {
    const extra: Record<string, string> = {};
    if (opts.token) extra.authorization = `Bearer ${opts.token}`;
    const first = opts.lastEventId;
    this.es = new EventSource(url, {
      fetch: async (input, init) => {
        const headers: Record<string, string> = { ...extra, ...init.headers };
        if (first !== undefined && this.requests.length === 0) headers['Last-Event-ID'] = first;
        this.requests.push(headers);
        const res = await fetch(input, { ...init, headers });
        if (!res.body) return res;
        // the body passes through a stream this client can break, as a lost connection would
        const reader = res.body.getReader();
        let broken: Error | undefined;
        const body = new ReadableStream<Uint8Array>({
          start: (controller) => {
            this.breakCurrent = (err) => {
              broken = err;
              controller.error(err);
              void reader.cancel().catch(() => undefined);
            };
          },
          pull: async (controller) => {
            try {
              const { done, value } = await reader.read();
              if (broken) return;
              if (done) controller.close();
              else controller.enqueue(value);
            } catch (err) {
              if (!broken) controller.error(err);
            }
          },
          cancel: () => reader.cancel(),
        });
        return new Response(body, { status: res.status, headers: res.headers });
      },
    });
    streams.add(this);
    this.es.addEventListener('open', () => this.opens++);
    this.es.addEventListener('error', (e) =>
      this.errors.push({ code: e.code, message: e.message, readyState: this.es.readyState }),
    );
    this.es.addEventListener('reset', (e: MessageEvent) =>
      this.resets.push({ data: JSON.parse(String(e.data)), after: this.events.length }),
    );
    for (const type of EVENT_TYPES)
      this.es.addEventListener(type, (e: MessageEvent) => {
        this.names.push(e.type);
        this.ids.push(e.lastEventId);
        this.events.push(JSON.parse(String(e.data)) as Envelope);
      });
  }

  seqs(): number[] {
    return this.events.map((e) => e.seq);
  }

  lastSeq(): number {
    return this.events.length ? this.events[this.events.length - 1].seq : 0;
  }

  waitOpen(timeoutMs = 10_000): Promise<unknown> {
    return waitFor(() => this.opens > 0 && this.es.readyState === this.es.OPEN, 'the SSE stream to open', {
      timeoutMs,
    });
  }

  waitForSeq(seq: number, timeoutMs = 10_000): Promise<unknown> {
    return waitFor(() => this.events.some((e) => e.seq >= seq), `seq ${seq} on the SSE stream`, {
      timeoutMs,
    });
  }

  /**
   * The sentinel of a quiet window, as `SocketCollector.settle`: writes a marker into `projectId`, waits for it
   * on this stream, then takes it out of `events`, `names` and `ids`.
   */
  settle(api: Client, projectId: string): Promise<Marker> {
    return settle(api, projectId, [this]);
  }

  /** Breaks the current response like a lost connection; the EventSource reconnects with Last-Event-ID. */
  dropConnection(): void {
    this.breakCurrent?.(new Error('simulated network drop'));
  }

  close(): void {
    this.es.close();
  }
}

/** A plain streaming GET, for looking at the SSE bytes themselves. */
export async function rawStream(
  url: string,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  headers: Headers;
  text: () => string;
  json: () => any;
  ended: () => boolean;
  close: () => void;
}> {
  const ctl = new AbortController();
  const res = await fetch(url, { headers, signal: ctl.signal });
  let text = '';
  let ended = !res.body;
  if (res.body) {
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    void (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          text += decoder.decode(value, { stream: true });
        }
      } catch {
        /* aborted, or cut by the server */
      }
      ended = true;
    })();
  }
  streams.add({ close: () => ctl.abort() });
  return {
    status: res.status,
    headers: res.headers,
    text: () => text,
    json: () => JSON.parse(text),
    ended: () => ended,
    close: () => ctl.abort(),
  };
}

/** Splits SSE text into frames (blank-line separated), each as its lines. */
export function sseFrames(text: string): string[][] {
  return text
    .split('\n\n')
    .filter((f) => f.length > 0)
    .map((f) => f.split('\n'));
}

// ---- writers and probes ---------------------------------------------------------------------------------

/** The project's last seq, from the event log over REST. */
export async function projectLastSeq(api: Client, projectId: string): Promise<number> {
  const res = await api.get(`/api/projects/${projectId}/events?after=0&limit=1`);
  if (res.status !== 200) throw new Error(`events: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.lastSeq as number;
}

/** All events of a project after `after`, over REST. */
export async function restEvents(api: Client, projectId: string, after = 0): Promise<Envelope[]> {
  const items: Envelope[] = [];
  for (;;) {
    const res = await api.get(`/api/projects/${projectId}/events?after=${after}&limit=1000`);
    if (res.status !== 200) throw new Error(`events: ${res.status} ${JSON.stringify(res.body)}`);
    items.push(...(res.body.items as Envelope[]));
    if (res.body.items.length < 1000) return items;
    after = items[items.length - 1].seq;
  }
}

export async function createWorkflow(
  api: Client,
  projectId: string,
  id: string,
  steps: string[] = ['s'],
): Promise<any> {
  const res = await api.post(`/api/projects/${projectId}/workflows`, {
    id,
    type: 'live-test',
    steps: steps.map((s) => ({ id: s })),
  });
  if (res.status !== 201) throw new Error(`create ${id}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function progress(
  api: Client,
  workflowId: string,
  stepId: string,
  body: Record<string, unknown>,
): Promise<void> {
  const res = await api.post(`/api/workflows/${workflowId}/steps/${stepId}/progress`, body);
  if (res.status !== 200)
    throw new Error(`progress ${workflowId}/${stepId}: ${res.status} ${JSON.stringify(res.body)}`);
}

/**
 * `total` progress updates to a project from `writers` parallel writers (one workflow each, one request
 * per update), as concurrent producers would. `onWrite` sees the running count.
 */
export async function writeConcurrently(
  api: Client,
  projectId: string,
  { writers = 4, total = 500, tag = 'w' }: { writers?: number; total?: number; tag?: string } = {},
): Promise<{ workflowIds: string[]; written: () => number; done: Promise<void> }> {
  const per = Math.ceil(total / writers);
  const workflowIds: string[] = [];
  for (let w = 0; w < writers; w++) {
    const id = `${projectId}-${tag}${w}`;
    await createWorkflow(api, projectId, id);
    workflowIds.push(id);
  }
  let written = 0;
  const done = Promise.all(
    workflowIds.map(async (id, w) => {
      const n = Math.min(per, total - w * per);
      for (let i = 1; i <= n; i++) {
        await progress(api, id, 's', { current: i, total: n, message: `update ${i}` });
        written++;
      }
    }),
  ).then(() => undefined);
  return { workflowIds, written: () => written, done };
}

/** A gauge or counter value from /metrics (Prometheus text), by name and exact label text. */
export async function metric(baseUrl: string, name: string, labels = ''): Promise<number | undefined> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m && m[1] === name && (m[2] ?? '') === labels) return Number(m[3]);
  }
  return undefined;
}
