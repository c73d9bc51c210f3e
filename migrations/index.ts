import { CoreSchema1763900000000 } from './1763900000000-core-schema';
import { RunHistory1764000000000 } from './1764000000000-run-history';
import { QueuesAndSessions1764100000000 } from './1764100000000-queues-and-sessions';
import { ClaimOrderIndex1764200000000 } from './1764200000000-claim-order-index';
import { Webhooks1764300000000 } from './1764300000000-webhooks';
import { EventAttempt1764310000000 } from './1764310000000-event-attempt';
import { SnapshotIndex1764320000000 } from './1764320000000-snapshot-index';
import { EtaRangesAndSlowSteps1764330000000 } from './1764330000000-eta-ranges-and-slow-steps';
import { ParentChild1764500000000 } from './1764500000000-parent-child';

/** Every migration, in order; run on start. */
export const MIGRATIONS = [
  CoreSchema1763900000000,
  RunHistory1764000000000,
  QueuesAndSessions1764100000000,
  ClaimOrderIndex1764200000000,
  Webhooks1764300000000,
  EventAttempt1764310000000,
  SnapshotIndex1764320000000,
  EtaRangesAndSlowSteps1764330000000,
  ParentChild1764500000000,
];
