import { MigrationInterface, QueryRunner, TableIndex } from 'typeorm';

/**
 * The claim reads "the oldest ready workflow of a queue" with `FOR UPDATE SKIP LOCKED`. With an index that
 * only covers (queue, status, available_at), MySQL/MariaDB filesorts every ready row and locks them all, so
 * concurrent claimers skip each other's whole scan: they get newer work before older and spurious 204s. This
 * index matches the claim's WHERE (queue, status, lease_token IS NULL, available_at ≤ now) and its ORDER BY
 * (available_at, created_at, created_seq), so the scan stops at the first row it can lock.
 */
export class ClaimOrderIndex1764200000000 implements MigrationInterface {
  name = 'ClaimOrderIndex1764200000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.createIndex(
      'workflows',
      new TableIndex({
        name: 'ix_workflows_claim',
        columnNames: ['queue', 'status', 'lease_token', 'available_at', 'created_at', 'created_seq'],
      }),
    );
    await qr.dropIndex('workflows', 'ix_workflows_queue');
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.createIndex(
      'workflows',
      new TableIndex({ name: 'ix_workflows_queue', columnNames: ['queue', 'status', 'available_at'] }),
    );
    await qr.dropIndex('workflows', 'ix_workflows_claim');
  }
}
