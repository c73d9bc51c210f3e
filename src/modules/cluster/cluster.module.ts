import { Global, Module } from '@nestjs/common';
import { ClusterBus } from './cluster-bus';
import { EventBridge } from './event-bridge';

/**
 * Scale-out (REDIS_URL): messages between the instances that share one database. Global, like the
 * database, so that each feature wires its own cross-instance path; inert without REDIS_URL.
 */
@Global()
@Module({ providers: [ClusterBus, EventBridge], exports: [ClusterBus, EventBridge] })
export class ClusterModule {}
