import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

/**
 * Webhooks (CONTRACT §15): one row per endpoint, with its durable cursor over the project's event log, the
 * lease that makes one instance at a time its deliverer, and its retry state. The secret is sealed
 * (AES-256-GCM, see src/modules/webhooks/secret-box.ts). `cursor` is a reserved word in MySQL: `cursor_seq`.
 */
export class Webhooks1764300000000 implements MigrationInterface {
  name = 'Webhooks1764300000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.createTable(
      new Table({
        name: 'webhooks',
        columns: [
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'project_id', type: 'varchar', length: '64', isNullable: false },
          { name: 'url', type: 'varchar', length: '2048', isNullable: false },
          { name: 'types', type: 'text', isNullable: false },
          { name: 'secret', type: 'varchar', length: '255', isNullable: false },
          { name: 'cursor_seq', type: 'bigint', isNullable: false, default: 0 },
          { name: 'lease_owner', type: 'varchar', length: '64', isNullable: true },
          { name: 'lease_expires_at', type: 'bigint', isNullable: true },
          { name: 'next_attempt_at', type: 'bigint', isNullable: true },
          { name: 'attempts', type: 'int', isNullable: false, default: 0 },
          { name: 'last_delivered_at', type: 'bigint', isNullable: true },
          { name: 'last_error', type: 'varchar', length: '500', isNullable: true },
          { name: 'failing_since', type: 'bigint', isNullable: true },
          { name: 'created_at', type: 'bigint', isNullable: false },
        ],
        indices: [
          new TableIndex({ name: 'ix_webhooks_project', columnNames: ['project_id', 'created_at'] }),
          new TableIndex({ name: 'ix_webhooks_lease', columnNames: ['lease_expires_at'] }),
          // every instance renews (and hands back) its leases by owner every second
          new TableIndex({ name: 'ix_webhooks_owner', columnNames: ['lease_owner', 'lease_expires_at'] }),
        ],
      }),
    );
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.dropTable('webhooks');
  }
}
