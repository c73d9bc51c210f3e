import { MigrationInterface, QueryRunner, Table, TableColumnOptions, TableIndex } from 'typeorm';

/** Core schema: projects (the per-project seq counter), workflows (also the queue), steps, logs, events, keys. */
export class CoreSchema1763900000000 implements MigrationInterface {
  name = 'CoreSchema1763900000000';

  async up(qr: QueryRunner): Promise<void> {
    const mysql = qr.connection.driver.options.type === 'mysql';
    const longText = mysql ? 'longtext' : 'text';
    const id = (name: string, nullable = false): TableColumnOptions => ({
      name,
      type: 'varchar',
      length: '64',
      isNullable: nullable,
    });
    const ms = (name: string, nullable = true): TableColumnOptions => ({
      name,
      type: 'bigint',
      isNullable: nullable,
    });
    const int = (name: string, def?: number): TableColumnOptions => ({
      name,
      type: 'int',
      isNullable: false,
      default: def,
    });
    const text = (name: string, nullable = true): TableColumnOptions => ({
      name,
      type: 'text',
      isNullable: nullable,
    });
    const long = (name: string, nullable = true): TableColumnOptions => ({
      name,
      type: longText,
      isNullable: nullable,
    });

    await qr.createTable(
      new Table({
        name: 'projects',
        columns: [
          { ...id('id'), isPrimary: true },
          { ...ms('last_seq', false), default: 0 },
          ms('last_event_at'),
          ms('created_at', false),
        ],
      }),
    );

    await qr.createTable(
      new Table({
        name: 'workflows',
        columns: [
          { ...id('id'), isPrimary: true },
          id('project_id'),
          id('type'),
          { name: 'name', type: 'varchar', length: '255', isNullable: true },
          { name: 'status', type: 'varchar', length: '16', isNullable: false },
          int('progress', 0),
          id('queue', true),
          int('attempt', 1),
          int('max_attempts', 1),
          id('session_id', true),
          // holds "<projectId>/<sessionId>" while the workflow is active, NULL once terminal: the session lock
          { name: 'session_lock', type: 'varchar', length: '130', isNullable: true, isUnique: true },
          long('metadata', false),
          text('error'),
          { name: 'request_hash', type: 'varchar', length: '64', isNullable: false },
          ms('stale_after_ms', false),
          ms('stale_at'),
          ms('available_at'),
          id('lease_token', true),
          ms('lease_expires_at'),
          { name: 'worker_id', type: 'varchar', length: '128', isNullable: true },
          ms('created_at', false),
          ms('started_at'),
          ms('finished_at'),
          ms('updated_at', false),
          { ...ms('last_seq', false), default: 0 },
          // seq of the workflow:created event: lists sort by it, so "newest first" is exact commit order
          { ...ms('created_seq', false), default: 0 },
        ],
        indices: [
          new TableIndex({
            name: 'ix_workflows_project_created',
            columnNames: ['project_id', 'created_seq'],
          }),
          new TableIndex({ name: 'ix_workflows_project_status', columnNames: ['project_id', 'status'] }),
          new TableIndex({ name: 'ix_workflows_stale', columnNames: ['stale_at'] }),
          new TableIndex({ name: 'ix_workflows_queue', columnNames: ['queue', 'status', 'available_at'] }),
          new TableIndex({ name: 'ix_workflows_lease', columnNames: ['lease_expires_at'] }),
        ],
      }),
    );

    await qr.createTable(
      new Table({
        name: 'workflow_steps',
        columns: [
          { ...id('workflow_id'), isPrimary: true },
          { ...id('id'), isPrimary: true },
          int('position'),
          { name: 'name', type: 'varchar', length: '255', isNullable: false },
          { name: 'weight', type: 'double', isNullable: false },
          { name: 'status', type: 'varchar', length: '16', isNullable: false },
          int('progress', 0),
          ms('current'),
          ms('total'),
          text('message'),
          ms('started_at'),
          ms('finished_at'),
          long('result'),
          text('error'),
          long('metrics'),
        ],
      }),
    );

    await qr.createTable(
      new Table({
        name: 'workflow_logs',
        columns: [
          { ...id('workflow_id'), isPrimary: true },
          // the seq of the log's workflow:log event: unique per workflow and in log order
          { ...ms('id', false), isPrimary: true },
          id('project_id'),
          id('step_id', true),
          { name: 'level', type: 'varchar', length: '16', isNullable: false },
          text('message', false),
          long('details'),
          ms('at', false),
        ],
        indices: [new TableIndex({ name: 'ix_logs_at', columnNames: ['at'] })],
      }),
    );

    await qr.createTable(
      new Table({
        name: 'events',
        columns: [
          { ...id('project_id'), isPrimary: true },
          { ...ms('seq', false), isPrimary: true },
          { name: 'type', type: 'varchar', length: '40', isNullable: false },
          id('workflow_id', true),
          id('step_id', true),
          ms('at', false),
          long('data', false),
        ],
        indices: [new TableIndex({ name: 'ix_events_at', columnNames: ['at'] })],
      }),
    );

    await qr.createTable(
      new Table({
        name: 'api_keys',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'name', type: 'varchar', length: '200', isNullable: false },
          { name: 'role', type: 'varchar', length: '16', isNullable: false },
          text('projects', false),
          { name: 'key_hash', type: 'varchar', length: '64', isNullable: false, isUnique: true },
          ms('created_at', false),
          ms('revoked_at'),
        ],
      }),
    );
  }

  async down(qr: QueryRunner): Promise<void> {
    for (const t of ['api_keys', 'events', 'workflow_logs', 'workflow_steps', 'workflows', 'projects'])
      await qr.dropTable(t);
  }
}
