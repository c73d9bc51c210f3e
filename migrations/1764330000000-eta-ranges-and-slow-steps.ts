import { MigrationInterface, QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';

/**
 * §13: the durable marker of a sent `workflow:step:slow` (per step, the attempt it was sent in), the history
 * ETA at 50 % (for stepline_eta_error_ratio), and the slow thresholds of each (project, type, step) that the
 * sweep joins running steps against.
 */
export class EtaRangesAndSlowSteps1764330000000 implements MigrationInterface {
  name = 'EtaRangesAndSlowSteps1764330000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.addColumn(
      'workflow_steps',
      new TableColumn({ name: 'slow_attempt', type: 'int', isNullable: true }),
    );
    await qr.addColumn('workflows', new TableColumn({ name: 'half_at', type: 'bigint', isNullable: true }));
    await qr.addColumn(
      'workflows',
      new TableColumn({ name: 'half_estimate_ms', type: 'bigint', isNullable: true }),
    );
    await qr.createIndex(
      'workflow_steps',
      // the sweep reads running steps not yet reported, started before the smallest threshold
      new TableIndex({
        name: 'ix_steps_slow_sweep',
        columnNames: ['status', 'slow_attempt', 'started_at'],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'step_thresholds',
        columns: [
          { name: 'project_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'type', type: 'varchar', length: '64', isPrimary: true },
          { name: 'step_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'threshold_ms', type: 'bigint', isNullable: false },
          { name: 'runs', type: 'int', isNullable: false },
          { name: 'updated_at', type: 'bigint', isNullable: false },
        ],
      }),
    );
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.dropTable('step_thresholds');
    await qr.dropIndex('workflow_steps', 'ix_steps_slow_sweep');
    await qr.dropColumn('workflows', 'half_estimate_ms');
    await qr.dropColumn('workflows', 'half_at');
    await qr.dropColumn('workflow_steps', 'slow_attempt');
  }
}
