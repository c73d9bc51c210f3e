import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

/** Queue workers seen by claims and heartbeats, session messages, and an index for "finished in the last minute". */
export class QueuesAndSessions1764100000000 implements MigrationInterface {
  name = 'QueuesAndSessions1764100000000';

  async up(qr: QueryRunner): Promise<void> {
    const mysql = qr.connection.driver.options.type === 'mysql';
    await qr.createTable(
      new Table({
        name: 'queue_workers',
        columns: [
          { name: 'queue', type: 'varchar', length: '64', isPrimary: true },
          { name: 'worker_id', type: 'varchar', length: '128', isPrimary: true },
          { name: 'last_seen_at', type: 'bigint', isNullable: false },
        ],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'session_messages',
        columns: [
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'project_id', type: 'varchar', length: '64', isNullable: false },
          { name: 'session_id', type: 'varchar', length: '64', isNullable: false },
          { name: 'type', type: 'varchar', length: '16', isNullable: false },
          { name: 'content', type: mysql ? 'mediumtext' : 'text', isNullable: true },
          { name: 'workflow_id', type: 'varchar', length: '64', isNullable: true },
          { name: 'created_at', type: 'bigint', isNullable: false },
        ],
        indices: [
          new TableIndex({
            name: 'ix_messages_session',
            columnNames: ['project_id', 'session_id', 'created_at'],
          }),
          new TableIndex({ name: 'ix_messages_workflow', columnNames: ['workflow_id'] }),
          new TableIndex({ name: 'ix_messages_created', columnNames: ['created_at'] }),
        ],
      }),
    );
    await qr.createIndex(
      'workflows',
      new TableIndex({ name: 'ix_workflows_queue_finished', columnNames: ['queue', 'finished_at'] }),
    );
    await qr.createIndex(
      'workflows',
      new TableIndex({ name: 'ix_workflows_worker', columnNames: ['worker_id'] }),
    );
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.dropIndex('workflows', 'ix_workflows_worker');
    await qr.dropIndex('workflows', 'ix_workflows_queue_finished');
    await qr.dropTable('session_messages');
    await qr.dropTable('queue_workers');
  }
}
