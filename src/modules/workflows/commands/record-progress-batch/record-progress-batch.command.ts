import { Command } from '@nestjs/cqrs';
import type { Principal } from '../../../../common/auth/principal';
import type { ProgressUpdateInput } from '../../domain/workflow.types';

export type BatchResult = { ok: true } | { ok: false; code: string; message: string };

/** Up to 1000 progress updates, applied in order, each with its own outcome. */
export class RecordProgressBatchCommand extends Command<BatchResult[]> {
  constructor(
    readonly principal: Principal,
    readonly updates: ProgressUpdateInput[],
    /** X-Lease-Token, checked against each update's workflow when it is on a queue. */
    readonly leaseToken?: string,
  ) {
    super();
  }
}
