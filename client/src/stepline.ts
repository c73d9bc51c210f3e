import { SteplineError } from './errors.js';
import { Transport, type RetryOptions } from './transport.js';
import type {
  ClaimResponse,
  CreateWorkflowRequest,
  EventPage,
  KeyInfo,
  Log,
  LogPage,
  ProjectSummary,
  QueuedWorkflow,
  QueueSummary,
  Workflow,
  StepDurations,
  Webhook,
  WorkflowPage,
  WorkflowStatus,
} from './types.js';
import { Watcher, type WatchOptions, type Watch } from './watcher.js';
import { Worker, type WorkHandler, type WorkOptions } from './worker.js';
import { WorkflowHandle, WriteQueue, type HandleHost, type LeaseContext } from './workflow-handle.js';
import type { ManagerOptions, SocketOptions } from 'socket.io-client';

export interface SteplineOptions {
  /** e.g. `http://127.0.0.1:3000` (the API is under `/api`, Socket.IO under `/socket.io`). */
  baseUrl: string;
  /** An API key (`Authorization: Bearer`). */
  token: string;
  /** Retries of 503, 429 and network errors; `false` to surface them at once. */
  retry?: RetryOptions | false;
  /** Progress updates per `POST /api/progress` (1–1000, default 1000). */
  maxBatch?: number;
  /** A fetch to use instead of the global one (a proxy, a counter, a test double). */
  fetch?: typeof fetch;
  /** Extra socket.io-client options for watchers (e.g. `transports: ['websocket']`). */
  socket?: Partial<ManagerOptions & SocketOptions>;
}

export interface ListWorkflowsFilter {
  status?: WorkflowStatus | WorkflowStatus[];
  type?: string;
  /** Workflows whose type starts with this. */
  typePrefix?: string;
  /** Workflows created on this queue. */
  queue?: string;
  /** A part of the id or the name, any case (1–100 characters). */
  search?: string;
  /** Created at or after this time. */
  createdFrom?: Date | string;
  /** Created before this time. */
  createdTo?: Date | string;
  limit?: number;
  cursor?: string;
}

const isoOf = (t: Date | string): string => (typeof t === 'string' ? t : t.toISOString());

const enc = encodeURIComponent;

function uuid(): string {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  const b = new Uint8Array(16);
  if (c && typeof c.getRandomValues === 'function') c.getRandomValues(b);
  else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * The Stepline client (CONTRACT.md §16).
 *
 * ```ts
 * const sl = new Stepline({ baseUrl: 'http://127.0.0.1:3000', token });
 * const wf = await sl.createWorkflow('p1', { type: 'import', steps: [{ id: 'parse' }] });
 * await wf.step('parse').progress({ progress: 50 });
 * ```
 */
export class Stepline implements HandleHost {
  readonly transport: Transport;
  private readonly writeQueues = new Map<string, WriteQueue>();
  private readonly maxBatch: number;
  /** Requests sent by write queues that have since gone idle (see `requestCount`). */
  private retiredRequests = 0;

  constructor(readonly options: SteplineOptions) {
    if (!options?.baseUrl) throw new TypeError('Stepline: baseUrl is required');
    if (!options.token) throw new TypeError('Stepline: token is required');
    this.transport = new Transport(options);
    this.maxBatch = Math.max(1, Math.min(1000, options.maxBatch ?? 1000));
  }

  /** @internal */
  queueFor(workflowId: string): WriteQueue {
    const existing = this.writeQueues.get(workflowId);
    if (existing) return existing;
    const q: WriteQueue = new WriteQueue(this.transport, workflowId, this.maxBatch, () => {
      if (this.writeQueues.get(workflowId) === q && q.idle) {
        this.retiredRequests += q.requests;
        this.writeQueues.delete(workflowId);
      }
    });
    this.writeQueues.set(workflowId, q);
    return q;
  }

  /** Write requests (and refresh reads) sent by workflow handles so far. */
  get writeRequests(): number {
    let n = this.retiredRequests;
    for (const q of this.writeQueues.values()) n += q.requests;
    return n;
  }

  /**
   * Creates a workflow (§2) and returns its handle. Without `id` the client picks a UUID, so that a retry
   * after a lost answer finds the same workflow (200) instead of creating a second one.
   */
  async createWorkflow(projectId: string, body: CreateWorkflowRequest): Promise<WorkflowHandle> {
    const withId = body.id ? body : { ...body, id: uuid() };
    const res = await this.transport.call<Workflow>(
      'POST',
      `/api/projects/${enc(projectId)}/workflows`,
      withId,
    );
    return new WorkflowHandle(this, res.body.id, res.body);
  }

  /** A handle on an existing workflow (no request). */
  workflow(id: string): WorkflowHandle {
    return new WorkflowHandle(this, id);
  }

  /** @internal a worker's handle: writes carry the lease token. */
  leased(claim: ClaimResponse, lease: Omit<LeaseContext, 'leaseToken' | 'attempt'>): WorkflowHandle {
    return new WorkflowHandle(this, claim.workflow.id, claim.workflow, {
      leaseToken: claim.leaseToken,
      attempt: claim.attempt,
      ...lease,
    });
  }

  async getWorkflow(id: string): Promise<Workflow> {
    return (await this.transport.call<Workflow>('GET', `/api/workflows/${enc(id)}`)).body;
  }

  /** A workflow type's recorded step durations (median, p90, slow threshold), for timelines. */
  async stepDurations(projectId: string, type: string): Promise<StepDurations> {
    return (
      await this.transport.call<StepDurations>(
        'GET',
        `/api/projects/${enc(projectId)}/step-durations?type=${enc(type)}`,
      )
    ).body;
  }

  async listWorkflows(projectId: string, filter: ListWorkflowsFilter = {}): Promise<WorkflowPage> {
    const q = new URLSearchParams();
    if (filter.status) q.set('status', ([] as string[]).concat(filter.status).join(','));
    if (filter.type) q.set('type', filter.type);
    if (filter.typePrefix) q.set('typePrefix', filter.typePrefix);
    if (filter.queue) q.set('queue', filter.queue);
    if (filter.search) q.set('search', filter.search);
    if (filter.createdFrom !== undefined) q.set('createdFrom', isoOf(filter.createdFrom));
    if (filter.createdTo !== undefined) q.set('createdTo', isoOf(filter.createdTo));
    if (filter.limit !== undefined) q.set('limit', String(filter.limit));
    if (filter.cursor) q.set('cursor', filter.cursor);
    const qs = q.toString();
    return (
      await this.transport.call<WorkflowPage>(
        'GET',
        `/api/projects/${enc(projectId)}/workflows${qs ? `?${qs}` : ''}`,
      )
    ).body;
  }

  async events(projectId: string, after = 0, limit = 1000): Promise<EventPage> {
    return (
      await this.transport.call<EventPage>(
        'GET',
        `/api/projects/${enc(projectId)}/events?after=${after}&limit=${limit}`,
      )
    ).body;
  }

  async projects(): Promise<ProjectSummary[]> {
    return (await this.transport.call<{ items: ProjectSummary[] }>('GET', '/api/projects')).body.items;
  }

  /** The queues over the key's projects, or over one project (`projectId`). */
  async queues(projectId?: string): Promise<QueueSummary[]> {
    const path = projectId === undefined ? '/api/queues' : `/api/queues?projectId=${enc(projectId)}`;
    return (await this.transport.call<{ items: QueueSummary[] }>('GET', path)).body.items;
  }

  /** What the calling key may do: its role and projects (`GET /api/keys/me`, any role). */
  async me(): Promise<KeyInfo> {
    return (await this.transport.call<KeyInfo>('GET', '/api/keys/me')).body;
  }

  /** A project's queued and running workflows, each with its place in its queue (§6). */
  async projectQueue(projectId: string): Promise<QueuedWorkflow[]> {
    return (
      await this.transport.call<{ items: QueuedWorkflow[] }>('GET', `/api/projects/${enc(projectId)}/queue`)
    ).body.items;
  }

  /** A project's webhooks and their delivery state (§15; any key of the project may list them). */
  async webhooks(projectId: string): Promise<Webhook[]> {
    return (
      await this.transport.call<{ items: Webhook[] }>('GET', `/api/projects/${enc(projectId)}/webhooks`)
    ).body.items;
  }

  /** A workflow's log lines after `after` (a log id), in order, at most `limit` (1–1000). */
  async logs(workflowId: string, after = 0, limit = 1000): Promise<Log[]> {
    return (
      await this.transport.call<LogPage>(
        'GET',
        `/api/workflows/${enc(workflowId)}/logs?after=${after}&limit=${limit}`,
      )
    ).body.items;
  }

  /** Cancels a workflow (§2), with an optional reason (carried by the `workflow:cancelled` event). */
  async cancelWorkflow(id: string, reason?: string): Promise<Workflow> {
    return (
      await this.transport.call<Workflow>(
        'POST',
        `/api/workflows/${enc(id)}/cancel`,
        reason === undefined ? {} : { reason },
      )
    ).body;
  }

  /** Runs `handler` for each workflow claimed from `queue` (§6). */
  work(queue: string, handler: WorkHandler, options: WorkOptions = {}): Worker {
    return new Worker(this, queue, handler, options);
  }

  /** Every event of a project once, in seq order, across reconnects and restarts (§4, §12). */
  watch(projectId: string, options: WatchOptions): Watch {
    return new Watcher(this, projectId, options);
  }
}

export { SteplineError };
