import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app.config';

/**
 * §10 `MAX_CONNECTIONS_PER_KEY`: Socket.IO connections plus SSE streams open at once per key. Counted per
 * instance: a connection is a live object of one process, released when it closes (also when a process
 * dies, which a shared Redis counter would not notice), so N instances allow N × the limit at most.
 */
@Injectable()
export class ConnectionLimiter {
  private readonly open = new Map<string, number>();
  readonly max: number;

  constructor(config: AppConfig) {
    this.max = config.maxConnectionsPerKey;
  }

  /** Counts one more connection of the key, or answers false (nothing counted) when it has `max` open. */
  acquire(keyId: string): boolean {
    const n = this.open.get(keyId) ?? 0;
    if (n >= this.max) return false;
    this.open.set(keyId, n + 1);
    return true;
  }

  release(keyId: string): void {
    const n = (this.open.get(keyId) ?? 0) - 1;
    if (n <= 0) this.open.delete(keyId);
    else this.open.set(keyId, n);
  }

  openFor(keyId: string): number {
    return this.open.get(keyId) ?? 0;
  }
}
