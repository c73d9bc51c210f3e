// Scale-out's port: the bus between instances and the committed-events bridge.
export { ClusterModule } from './cluster.module';
export { ClusterBus } from './cluster-bus';
export { EventBridge, type RemoteEventsListener, type TailListener } from './event-bridge';
