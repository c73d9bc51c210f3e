import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/**
 * §11: every event carries the workflow's attempt when it was committed.
 *
 * Back-fill of the events already in the log, exact rather than "the current attempt or 1": an event's
 * attempt is its workflow's current attempt minus the `workflow:requeued` events of that workflow that came
 * after it (each requeue adds exactly one to the attempt, and its own event carries the new attempt).
 * Retention trims the log oldest first, so every requeue after a kept event is kept too. An event whose
 * workflow row is gone (or that names none) gets 1.
 */
export class EventAttempt1764310000000 implements MigrationInterface {
  name = 'EventAttempt1764310000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.addColumn(
      'events',
      new TableColumn({ name: 'attempt', type: 'int', isNullable: false, default: 1 }),
    );
    await qr.query(
      'UPDATE events SET attempt = COALESCE((SELECT w.attempt FROM workflows w WHERE w.id = events.workflow_id), 1) ' +
        'WHERE workflow_id IS NOT NULL',
    );
    const requeues: { project_id: string; workflow_id: string; seq: unknown }[] = await qr.query(
      "SELECT project_id, workflow_id, seq FROM events WHERE type = 'workflow:requeued' ORDER BY project_id, seq",
    );
    for (const r of requeues)
      await qr.query(
        'UPDATE events SET attempt = attempt - 1 WHERE project_id = ? AND workflow_id = ? AND seq < ? AND attempt > 1',
        [r.project_id, r.workflow_id, Number(r.seq)],
      );
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.dropColumn('events', 'attempt');
  }
}
