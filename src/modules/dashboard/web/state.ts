import type {
  KeyInfo,
  Log,
  ProjectSummary,
  QueueSummary,
  QueuedWorkflow,
  Stepline,
  Watch,
  Webhook,
  Workflow,
} from '@stepline/client';

/** A step as the page keeps it: the server's, plus the §13 slow warning seen live. */
export interface SlowMark {
  attempt: number;
  elapsedMs: number;
  expectedMs: number;
}

/** A workflow as the page keeps it: the server's shape plus when its ETA was read (for the countdown). */
export type Row = Workflow & {
  /** Local time the ETA was read (REST) or received (event): the countdown runs from here. */
  etaAt: number;
  /** Built from a `workflow:created` event: fields the event does not carry (maxAttempts) are not known. */
  partial?: boolean;
  /** step id → the slow warning of its running attempt */
  slow?: Record<string, SlowMark>;
};

export type ConnState = 'signed-out' | 'idle' | 'live' | 'reconnecting' | 'offline';

export interface Filters {
  status: string;
  typePrefix: string;
  search: string;
  /** the queue the workflows were created on (a queue row in the panel sets it) */
  queue: string;
  /** creation window, ISO 8601 (the same moment for everyone who opens the link): from inclusive, to exclusive */
  createdFrom: string;
  createdTo: string;
}

export const NO_FILTERS: Filters = {
  status: '',
  typePrefix: '',
  search: '',
  queue: '',
  createdFrom: '',
  createdTo: '',
};

export const TERMINAL: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled']);

export interface DashboardState {
  key: string | null;
  sl: Stepline | null;
  me: KeyInfo | null;
  conn: ConnState;
  projects: ProjectSummary[];
  project: string | null;
  /** bumped on every project switch, state reload or sign-out: async work of an older generation is dropped */
  gen: number;
  /** the REST snapshot of the project is in and the watch is started */
  ready: boolean;
  watch: Watch | null;
  /** identity of the current watch, so a closed watch's callbacks are ignored */
  watchToken: object | null;
  workflows: Map<string, Row>;
  nextCursor: string | null;
  selected: string | null;
  logsFor: string | null;
  /** the selected workflow's logs were read in full (else a reconnect reads them again) */
  logsLoaded: boolean;
  logs: Map<number, Log>;
  /** seq of the last event applied for `project` */
  lastApplied: number;
  /** the project's lastSeq read before the REST snapshot: older events of unknown workflows are not ours */
  snapshotSeq: number;
  /** workflowId → events that arrived while that workflow was being fetched */
  fetching: Map<string, Parameters<typeof import('@stepline/client').applyEvent>[1][]>;
  canWrite: boolean;
  accessDenied: boolean;
  filters: Filters;
  queues: QueueSummary[];
  projectQueue: QueuedWorkflow[];
  webhooks: Webhook[];
  lastReplayed: number;
  resets: number;
  retryTimer: ReturnType<typeof setTimeout> | undefined;
  loadingGen: number | null;
  cancelling: Set<string>;
  /** the workflow whose status was last announced, and that status (the polite live region) */
  announced: { id: string; status: string } | null;
}

export const state: DashboardState = {
  key: null,
  sl: null,
  me: null,
  conn: 'signed-out',
  projects: [],
  project: null,
  gen: 0,
  ready: false,
  watch: null,
  watchToken: null,
  workflows: new Map(),
  nextCursor: null,
  selected: null,
  logsFor: null,
  logsLoaded: false,
  logs: new Map(),
  lastApplied: 0,
  snapshotSeq: 0,
  fetching: new Map(),
  canWrite: false,
  accessDenied: false,
  filters: { ...NO_FILTERS },
  queues: [],
  projectQueue: [],
  webhooks: [],
  lastReplayed: 0,
  resets: 0,
  retryTimer: undefined,
  loadingGen: null,
  cancelling: new Set(),
  announced: null,
};

/**
 * What the views call back into (set by main.ts): views never import the data layer, so the module graph
 * stays a tree.
 */
export const actions = {
  selectWorkflow: (_id: string | null, _focus?: boolean): void => undefined,
  requestCancel: (_id: string): void => undefined,
  scheduleRender: (): void => undefined,
  filtersChanged: (): void => undefined,
  /** reads one workflow again over REST (what events do not carry: step metrics) */
  rereadWorkflow: (_id: string): void => undefined,
};
