import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { Eta, ParentRef, StepStatus, WorkflowStatus } from '../domain/workflow.types';

export class StepView {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
  @ApiProperty() weight: number;
  @ApiProperty({ enum: ['pending', 'running', 'completed', 'failed', 'skipped', 'cancelled'] })
  status: StepStatus;
  @ApiProperty() progress: number;
  @ApiProperty({ nullable: true, type: Number }) current: number | null;
  @ApiProperty({ nullable: true, type: Number }) total: number | null;
  @ApiProperty({ nullable: true, type: String }) message: string | null;
  @ApiProperty({ nullable: true, type: String }) startedAt: string | null;
  @ApiProperty({ nullable: true, type: String }) finishedAt: string | null;
  @ApiProperty({ nullable: true, type: Number }) durationMs: number | null;
  @ApiPropertyOptional() result: unknown;
  @ApiProperty({ nullable: true, type: Object }) error: { message: string; code?: string } | null;
  @ApiProperty({ nullable: true, type: Object }) metrics: Record<string, unknown> | null;
  @ApiProperty({ type: [String], description: 'child workflows of this step, in creation order (§14)' })
  children: string[];
}

export class EtaView implements Eta {
  @ApiProperty({ nullable: true, type: Number }) remainingMs: number | null;
  @ApiProperty({ nullable: true, type: String }) finishAt: string | null;
  @ApiProperty({ enum: ['none', 'rate', 'history'] }) basis: 'none' | 'rate' | 'history';
  @ApiProperty({
    nullable: true,
    type: Number,
    description: '§13: 9 runs in 10 finish within this (history only)',
  })
  remainingP90Ms: number | null;
  @ApiProperty({
    nullable: true,
    type: Number,
    description: '§13: queued on a queue: estimated wait until claimed',
  })
  queueWaitMs: number | null;
}

export class ParentRefView implements ParentRef {
  @ApiProperty() workflowId: string;
  @ApiProperty() stepId: string;
}

/** The Workflow resource of the contract (§2). */
export class WorkflowView {
  @ApiProperty() id: string;
  @ApiProperty() projectId: string;
  @ApiProperty() type: string;
  @ApiProperty({ nullable: true, type: String }) name: string | null;
  @ApiProperty({ enum: ['queued', 'running', 'completed', 'failed', 'cancelled'] }) status: WorkflowStatus;
  @ApiProperty() progress: number;
  @ApiProperty({ type: [StepView] }) steps: StepView[];
  @ApiProperty({ nullable: true, type: String }) queue: string | null;
  @ApiProperty() attempt: number;
  @ApiProperty() maxAttempts: number;
  @ApiProperty({ nullable: true, type: String }) sessionId: string | null;
  @ApiProperty({ type: Object }) metadata: Record<string, unknown>;
  @ApiProperty({ nullable: true, type: Object }) error: { message: string; code?: string } | null;
  @ApiProperty({ type: EtaView }) eta: Eta;
  @ApiProperty() createdAt: string;
  @ApiProperty({ nullable: true, type: String }) startedAt: string | null;
  @ApiProperty({ nullable: true, type: String }) finishedAt: string | null;
  @ApiProperty() updatedAt: string;
  @ApiProperty() lastSeq: number;
  @ApiProperty({
    nullable: true,
    type: ParentRefView,
    description: 'the parent workflow and step of a child (§14)',
  })
  parent: ParentRef | null;
}

export class WorkflowPage {
  @ApiProperty({ type: [WorkflowView] }) items: WorkflowView[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}

export class StepDurationView {
  @ApiProperty() stepId: string;
  @ApiProperty({ description: 'recorded runs that have this step' }) runs: number;
  @ApiProperty() medianMs: number;
  @ApiProperty({ description: '90th percentile (linear interpolation)' }) p90Ms: number;
  @ApiProperty({
    nullable: true,
    type: Number,
    description: "§13's slow threshold, max(p95, 1.5 × median); null below 5 runs",
  })
  slowAfterMs: number | null;
}

/** A workflow type's recorded step durations (the newest 20 completed runs), for timelines. */
export class StepDurationsView {
  @ApiProperty() type: string;
  @ApiProperty({ description: 'completed runs the figures are taken over' }) runs: number;
  @ApiProperty({ type: [StepDurationView], description: "in the newest run's step order" })
  steps: StepDurationView[];
}

/** A workflow log line as the API answers it. */
export interface LogView {
  id: number;
  workflowId: string;
  stepId: string | null;
  level: string;
  message: string;
  details: unknown;
  at: string;
}
