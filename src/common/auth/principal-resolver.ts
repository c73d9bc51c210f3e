import type { Principal } from './principal';

/**
 * The port through which auth (the HTTP guard, the socket handshake, SSE) reaches the keys: common never
 * imports a feature. The keys module provides it (KeysModule binds it to KeysService).
 */
export abstract class PrincipalResolver {
  /**
   * The principal of a known, unrevoked key; undefined otherwise. `beforeLookup` runs only when the answer
   * is not cached and the database must be asked (and may throw to refuse the request first).
   */
  abstract authenticate(token: string, beforeLookup?: () => Promise<void>): Promise<Principal | undefined>;
  abstract isRevoked(keyId: string): boolean;
  /** Called with a key's id when it is revoked on any instance (live sockets and streams close). */
  abstract onRevoke(fn: (keyId: string) => void): void;
}
