/** The parts of Socket.IO's handshake and of the upgrade request that `releaseHandshake` lets go. */
export interface HandshakeParts {
  headers: unknown;
  query: unknown;
  auth: unknown;
  url: unknown;
  time: unknown;
}
export interface RequestParts {
  headers: unknown;
  rawHeaders: unknown;
  _query?: unknown;
}
const RELEASED: Readonly<Record<string, never>> = Object.freeze({});

/**
 * What a connected socket no longer needs from its handshake, let go so that an idle connection does not
 * hold it: the request's headers (twice: parsed, and raw), its query, the client's `auth` (with the key's
 * secret in it), the URL and the time as text. They were read by the connect middleware (the key) and by
 * nothing after it. The request object itself stays reachable (engine.io's upgrade response keeps it until
 * the TCP socket closes), but empty. (`req` is the request the socket connected with: for a client that
 * starts on long-polling and upgrades later, the upgrade request is another one, kept whole.) handshake-release.spec.ts checks on a real Socket.IO server that what is
 * let go is then collected: it fails when an upgrade of Socket.IO or engine.io starts keeping it elsewhere.
 */
export function releaseHandshake(hs: HandshakeParts, req: RequestParts | null): void {
  hs.headers = RELEASED;
  hs.query = RELEASED;
  hs.auth = RELEASED;
  hs.url = '';
  hs.time = '';
  if (req) {
    req.headers = RELEASED;
    req.rawHeaders = [];
    req._query = RELEASED;
  }
}
