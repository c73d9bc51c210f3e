import { MigrationInterface, QueryRunner, TableIndex } from 'typeorm';

/** §12: a reset's snapshot reads a project's most recently finished workflows without sorting all of them. */
export class SnapshotIndex1764320000000 implements MigrationInterface {
  name = 'SnapshotIndex1764320000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.createIndex(
      'workflows',
      new TableIndex({ name: 'ix_workflows_project_finished', columnNames: ['project_id', 'finished_at'] }),
    );
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.dropIndex('workflows', 'ix_workflows_project_finished');
  }
}
