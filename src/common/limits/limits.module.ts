import { Global, Module } from '@nestjs/common';
import { ConnectionLimiter } from './connection-limiter';
import { RequestRateLimiter } from './request-rate-limiter';

/** §10 limits shared by the HTTP guard, the socket gateway and the SSE streams. */
@Global()
@Module({
  providers: [RequestRateLimiter, ConnectionLimiter],
  exports: [RequestRateLimiter, ConnectionLimiter],
})
export class LimitsModule {}
