import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Row shape of the ETA history: one completed run, its step durations by step id (JSON). */
@Entity('run_history')
export class RunHistoryOrmEntity {
  @PrimaryColumn({ name: 'workflow_id', type: 'varchar', length: 64 }) workflowId: string;
  @Column({ name: 'project_id', type: 'varchar', length: 64 }) projectId: string;
  @Column({ type: 'varchar', length: 64 }) type: string;
  @Column({ name: 'finished_at', type: 'bigint' }) finishedAt: number;
  @Column({ type: 'text' }) durations: string;
}
