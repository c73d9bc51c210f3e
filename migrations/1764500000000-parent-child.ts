import { MigrationInterface, QueryRunner, TableColumn, TableIndex } from 'typeorm';

/**
 * Parent and child workflows (§14): a child names its parent workflow and step, and its depth (a root is 0);
 * a parent step keeps its children (ids in creation order, with each child's last status, progress and
 * remaining time), so that the roll-up in a child's commit needs the parent row only, not every sibling.
 */
export class ParentChild1764500000000 implements MigrationInterface {
  name = 'ParentChild1764500000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.addColumns('workflows', [
      new TableColumn({ name: 'parent_workflow_id', type: 'varchar', length: '64', isNullable: true }),
      new TableColumn({ name: 'parent_step_id', type: 'varchar', length: '64', isNullable: true }),
      new TableColumn({ name: 'depth', type: 'int', default: 0 }),
    ]);
    await qr.createIndex(
      'workflows',
      new TableIndex({ name: 'ix_workflows_parent', columnNames: ['parent_workflow_id'] }),
    );
    await qr.addColumn(
      'workflow_steps',
      new TableColumn({ name: 'children', type: 'text', isNullable: true }),
    );
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.dropColumn('workflow_steps', 'children');
    await qr.dropIndex('workflows', 'ix_workflows_parent');
    await qr.dropColumns('workflows', ['parent_workflow_id', 'parent_step_id', 'depth']);
  }
}
