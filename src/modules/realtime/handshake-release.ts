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
 * starts on long-polling and upgrades later, the upgrade request is another one, let go by
 * `releaseUpgradeRequests`.) handshake-release.spec.ts checks on a real Socket.IO server that what is let go is
 * then collected: it fails when an upgrade of Socket.IO or engine.io starts keeping it elsewhere.
 */
export function releaseHandshake(hs: HandshakeParts, req: RequestParts | null): void {
  hs.headers = RELEASED;
  hs.query = RELEASED;
  hs.auth = RELEASED;
  hs.url = '';
  hs.time = '';
  if (req) releaseRequest(req);
}

function releaseRequest(req: RequestParts): void {
  req.headers = RELEASED;
  req.rawHeaders = [];
  req._query = RELEASED;
}

/** What `releaseUpgradeRequests` uses of engine.io's server: its public `headers` event and `clients`. */
export interface UpgradingEngine {
  on(event: 'headers', listener: (headers: unknown, req: RequestParts) => void): unknown;
  clients: Record<string, { once(event: 'upgrade', listener: () => void): unknown } | undefined>;
}

/**
 * A client that starts on long-polling (socket.io-client's default, the dashboard) moves to websocket with a
 * second request, which engine.io keeps for the connection's life like the first (a `close` listener on the
 * TCP socket holds the upgrade's response, and the response its request), headers and all. That request's
 * `headers` event names the polling session it upgrades; once the session has upgraded, nothing reads the
 * request again, and its headers and query are let go as `releaseHandshake` lets go of the first one's. (An
 * upgrade that fails leaves its listener on the session until the session closes or a later upgrade succeeds.)
 */
export function releaseUpgradeRequests(engine: UpgradingEngine): void {
  engine.on('headers', (_headers, req) => {
    const query = req._query as { sid?: unknown; transport?: unknown } | undefined;
    if (typeof query?.sid !== 'string' || query.transport !== 'websocket') return;
    engine.clients[query.sid]?.once('upgrade', () => releaseRequest(req));
  });
}
