import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('projects')
export class ProjectOrmEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 }) id: string;
  /** The per-project seq counter: updated in the same transaction as the events it numbers. */
  @Column({ name: 'last_seq', type: 'bigint' }) lastSeq: number;
  @Column({ name: 'last_event_at', type: 'bigint', nullable: true }) lastEventAt: number | null;
  @Column({ name: 'created_at', type: 'bigint' }) createdAt: number;
}

@Entity('events')
export class EventOrmEntity {
  @PrimaryColumn({ name: 'project_id', type: 'varchar', length: 64 }) projectId: string;
  @PrimaryColumn({ type: 'bigint' }) seq: number;
  @Column({ type: 'varchar', length: 40 }) type: string;
  @Column({ name: 'workflow_id', type: 'varchar', length: 64, nullable: true }) workflowId: string | null;
  @Column({ name: 'step_id', type: 'varchar', length: 64, nullable: true }) stepId: string | null;
  @Column({ type: 'bigint' }) at: number;
  @Column({ type: 'text' }) data: string;
}
