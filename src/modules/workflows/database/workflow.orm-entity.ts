import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Row shapes of the workflow tables. The write path uses set-based SQL on them; see workflow.repository.ts. */
@Entity('workflows')
export class WorkflowOrmEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 }) id: string;
  @Column({ name: 'project_id', type: 'varchar', length: 64 }) projectId: string;
  @Column({ type: 'varchar', length: 64 }) type: string;
  @Column({ type: 'varchar', length: 255, nullable: true }) name: string | null;
  @Column({ type: 'varchar', length: 16 }) status: string;
  @Column({ type: 'int' }) progress: number;
  @Column({ type: 'varchar', length: 64, nullable: true }) queue: string | null;
  @Column({ type: 'int' }) attempt: number;
  @Column({ name: 'max_attempts', type: 'int' }) maxAttempts: number;
  @Column({ name: 'session_id', type: 'varchar', length: 64, nullable: true }) sessionId: string | null;
  @Column({ name: 'session_lock', type: 'varchar', length: 130, nullable: true, unique: true }) sessionLock:
    string | null;
  @Column({ type: 'text' }) metadata: string;
  @Column({ type: 'text', nullable: true }) error: string | null;
  @Column({ name: 'request_hash', type: 'varchar', length: 64 }) requestHash: string;
  @Column({ name: 'stale_after_ms', type: 'bigint' }) staleAfterMs: number;
  @Column({ name: 'stale_at', type: 'bigint', nullable: true }) staleAt: number | null;
  @Column({ name: 'available_at', type: 'bigint', nullable: true }) availableAt: number | null;
  @Column({ name: 'lease_token', type: 'varchar', length: 64, nullable: true }) leaseToken: string | null;
  @Column({ name: 'lease_expires_at', type: 'bigint', nullable: true }) leaseExpiresAt: number | null;
  @Column({ name: 'worker_id', type: 'varchar', length: 128, nullable: true }) workerId: string | null;
  @Column({ name: 'created_at', type: 'bigint' }) createdAt: number;
  @Column({ name: 'started_at', type: 'bigint', nullable: true }) startedAt: number | null;
  @Column({ name: 'finished_at', type: 'bigint', nullable: true }) finishedAt: number | null;
  @Column({ name: 'updated_at', type: 'bigint' }) updatedAt: number;
  @Column({ name: 'last_seq', type: 'bigint' }) lastSeq: number;
  @Column({ name: 'created_seq', type: 'bigint' }) createdSeq: number;
}

@Entity('workflow_steps')
export class WorkflowStepOrmEntity {
  @PrimaryColumn({ name: 'workflow_id', type: 'varchar', length: 64 }) workflowId: string;
  @PrimaryColumn({ type: 'varchar', length: 64 }) id: string;
  @Column({ type: 'int' }) position: number;
  @Column({ type: 'varchar', length: 255 }) name: string;
  @Column({ type: 'double' }) weight: number;
  @Column({ type: 'varchar', length: 16 }) status: string;
  @Column({ type: 'int' }) progress: number;
  @Column({ type: 'bigint', nullable: true }) current: number | null;
  @Column({ type: 'bigint', nullable: true }) total: number | null;
  @Column({ type: 'text', nullable: true }) message: string | null;
  @Column({ name: 'started_at', type: 'bigint', nullable: true }) startedAt: number | null;
  @Column({ name: 'finished_at', type: 'bigint', nullable: true }) finishedAt: number | null;
  @Column({ type: 'text', nullable: true }) result: string | null;
  @Column({ type: 'text', nullable: true }) error: string | null;
  @Column({ type: 'text', nullable: true }) metrics: string | null;
}

@Entity('workflow_logs')
export class WorkflowLogOrmEntity {
  @PrimaryColumn({ name: 'workflow_id', type: 'varchar', length: 64 }) workflowId: string;
  @PrimaryColumn({ type: 'bigint' }) id: number;
  @Column({ name: 'project_id', type: 'varchar', length: 64 }) projectId: string;
  @Column({ name: 'step_id', type: 'varchar', length: 64, nullable: true }) stepId: string | null;
  @Column({ type: 'varchar', length: 16 }) level: string;
  @Column({ type: 'text' }) message: string;
  @Column({ type: 'text', nullable: true }) details: string | null;
  @Column({ type: 'bigint' }) at: number;
}
