// Metrics' port: the registry every module counts into, and the HTTP interceptor.
export { MetricsModule } from './metrics.module';
export { MetricsService } from './metrics.service';
export { HttpMetricsInterceptor } from './http-metrics.interceptor';
