/**
 * Record a completed workflow's step durations as ETA history for its (project, type).
 * A plain class rather than `Command<void>`: the saga that emits it is unit-tested without loading Nest.
 */
export class RecordRunHistoryCommand {
  constructor(
    readonly projectId: string,
    readonly workflowId: string,
  ) {}
}
