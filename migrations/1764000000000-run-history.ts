import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

/**
 * ETA history: one row per completed workflow, its step durations by step id (JSON), so that estimates
 * survive a restart. Keyed by the workflow id, so recording a run twice is a no-op.
 */
export class RunHistory1764000000000 implements MigrationInterface {
  name = 'RunHistory1764000000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.createTable(
      new Table({
        name: 'run_history',
        columns: [
          { name: 'workflow_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'project_id', type: 'varchar', length: '64', isNullable: false },
          { name: 'type', type: 'varchar', length: '64', isNullable: false },
          { name: 'finished_at', type: 'bigint', isNullable: false },
          // { "<stepId>": durationMs } of the run's completed steps
          { name: 'durations', type: 'text', isNullable: false },
        ],
        indices: [
          new TableIndex({
            name: 'ix_run_history_type',
            columnNames: ['project_id', 'type', 'finished_at'],
          }),
        ],
      }),
    );
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.dropTable('run_history');
  }
}
