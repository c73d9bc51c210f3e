import { Injectable } from '@nestjs/common';
import { Saga } from '@nestjs/cqrs';
import { recordRunHistory } from './task-progress-tracker.flows';

/** Committed events in, follow-up commands out; the flows themselves are in task-progress-tracker.flows.ts. */
@Injectable()
export class TaskProgressTracker {
  @Saga() recordRunHistory = recordRunHistory;
}
