import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics (prom-client), one registry per app instance. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'stepline_http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly eventsAppended = new Counter({
    name: 'stepline_events_appended_total',
    help: 'Events committed to the per-project event log',
    registers: [this.registry],
  });
  readonly progressUpdates = new Counter({
    name: 'stepline_progress_updates_total',
    help: 'Progress updates accepted (single and batched)',
    registers: [this.registry],
  });
  /** How many TCP connections the HTTP server holds now (read when the metrics are scraped). */
  private httpConnections?: () => Promise<number>;
  readonly openConnections = new Gauge({
    name: 'stepline_open_connections',
    help: 'Open connections by kind',
    labelNames: ['kind'],
    registers: [this.registry],
    collect: async () => {
      if (this.httpConnections) this.openConnections.set({ kind: 'http' }, await this.httpConnections());
    },
  });

  /**
   * The `http` series of stepline_open_connections is read from the server at scrape time: counting it with
   * a close listener on every connection cost each idle websocket ~200 bytes (a third 'close' listener
   * grows the socket's listener array to 16 slots).
   */
  countHttpConnections(read: () => Promise<number>): void {
    this.httpConnections = read;
  }
  /** Commands waiting for a commit (read when the metrics are scraped). */
  private commitQueue?: () => number;
  readonly commandsWaiting = new Gauge({
    name: 'stepline_commands_waiting',
    help: 'Write commands waiting for the next group commit (the write path backlog)',
    registers: [this.registry],
    collect: () => {
      if (this.commitQueue) this.commandsWaiting.set(this.commitQueue());
    },
  });

  /** The write path's backlog, read at scrape time (nothing per command). */
  countCommandsWaiting(read: () => number): void {
    this.commitQueue = read;
  }
  readonly claimsWaiting = new Gauge({
    name: 'stepline_claims_waiting',
    help: 'Long-poll claims (waitMs > 0) of HTTP workers waiting on this instance now (the built-in pool not counted)',
    registers: [this.registry],
  });
  readonly clusterMessages = new Counter({
    name: 'stepline_cluster_messages_total',
    help: 'Redis messages between instances (REDIS_URL): sent, lost (publish failed), received, by topic',
    labelNames: ['direction', 'topic'],
    registers: [this.registry],
  });
  readonly gapFills = new Counter({
    name: 'stepline_event_gap_fills_total',
    help: 'Event-log reads that filled a hole in the live event stream (with REDIS_URL: a lost or late message)',
    labelNames: ['consumer'],
    registers: [this.registry],
  });
  readonly analysisFilesExamined = new Counter({
    name: 'stepline_analysis_files_examined_total',
    help: 'Files examined by the built-in analyzers, by analysis type (a stopped analysis counts what it reached)',
    labelNames: ['type'],
    registers: [this.registry],
  });
  readonly groupSize = new Histogram({
    name: 'stepline_commit_group_size',
    help: 'Commands committed per transaction (group commit)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024],
    registers: [this.registry],
  });

  readonly keyLookups = new Counter({
    name: 'stepline_key_lookups_total',
    help: 'API key lookups by where they were answered: database, or unknown_cached (a token remembered as unknown)',
    labelNames: ['source'],
    registers: [this.registry],
  });
  readonly etaErrorRatio = new Histogram({
    name: 'stepline_eta_error_ratio',
    help: '|history ETA at 50 % − real remaining| / real remaining, per completed workflow that had one',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5],
    registers: [this.registry],
  });
  readonly slowSteps = new Counter({
    name: 'stepline_slow_steps_total',
    help: 'workflow:step:slow events recorded by this instance',
    registers: [this.registry],
  });

  readonly slowSweeps = new Counter({
    name: 'stepline_slow_sweeps_total',
    help: 'Slow-step sweeps run by this instance (while it holds the sweep lease)',
    registers: [this.registry],
  });
  readonly slowSweepCpu = new Counter({
    name: 'stepline_slow_sweep_cpu_seconds_total',
    help: 'Process CPU (user + system) spent from the start to the end of each slow-step sweep',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'stepline_' });
  }
}
