import { CoreSchema1763900000000 } from './1763900000000-core-schema';
import { RunHistory1764000000000 } from './1764000000000-run-history';
import { QueuesAndSessions1764100000000 } from './1764100000000-queues-and-sessions';
import { ClaimOrderIndex1764200000000 } from './1764200000000-claim-order-index';
import { Webhooks1764300000000 } from './1764300000000-webhooks';

/** Every migration, in order; run on start. */
export const MIGRATIONS = [
  CoreSchema1763900000000,
  RunHistory1764000000000,
  QueuesAndSessions1764100000000,
  ClaimOrderIndex1764200000000,
  Webhooks1764300000000,
];
