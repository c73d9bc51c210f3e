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

interface Listenable<E extends string> {
  once(event: E, listener: () => void): unknown;
  off(event: E, listener: () => void): unknown;
}

/** What `releaseUpgradeRequests` uses of engine.io's server: its public `headers` event and `clients`. */
export interface UpgradingEngine {
  on(
    event: 'headers',
    listener: (headers: unknown, req: RequestParts & { socket?: Listenable<'close'> }) => void,
  ): unknown;
  clients: Record<string, (Listenable<'upgrade'> & { upgraded: boolean; upgrading: boolean }) | undefined>;
}

/**
 * A client that starts on long-polling (socket.io-client's default, the dashboard) moves to websocket with a
 * second request, which engine.io keeps for the connection's life like the first (a `close` listener on the
 * TCP socket holds the upgrade's response, and the response its request), headers and all. That request's
 * `headers` event names the polling session it upgrades; once the session has upgraded, nothing reads the
 * request again, and its parsed and raw headers and parsed query are let go as `releaseHandshake` lets go of
 * the first one's (its URL stays: the engine.io query, nothing else).
 *
 * An upgrade engine.io is about to turn away (the session has upgraded, or is upgrading: it checks right after
 * this event, in the same turn) gets no listener; one that fails later (its probe times out or its websocket
 * closes) has its listener removed when its TCP socket closes. So a session holds at most one, and only while
 * an upgrade is under way.
 */
export function releaseUpgradeRequests(engine: UpgradingEngine): void {
  engine.on('headers', (_headers, req) => {
    const query = req._query as { sid?: unknown; transport?: unknown } | undefined;
    if (typeof query?.sid !== 'string' || query.transport !== 'websocket') return;
    const session = engine.clients[query.sid];
    if (!session || session.upgraded || session.upgrading) return;
    const tcp = req.socket;
    const upgraded = (): void => {
      tcp?.off('close', failed);
      releaseRequest(req);
    };
    const failed = (): void => void session.off('upgrade', upgraded);
    session.once('upgrade', upgraded);
    tcp?.once('close', failed);
  });
}
