import { Module } from '@nestjs/common';
import { EtaHistory } from './eta-history';
import { RunHistoryRepository } from './run-history.repository';
import { QueueWaitEstimator } from './queue-wait';

/** The ETA history on its own, so that the workflows write path can use it without the rest of the tracker. */
@Module({
  providers: [RunHistoryRepository, EtaHistory, QueueWaitEstimator],
  exports: [RunHistoryRepository, EtaHistory, QueueWaitEstimator],
})
export class EtaHistoryModule {}
