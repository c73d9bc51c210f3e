// Preloaded (`node -r`) into the built server by realtime-socket.e2e-spec.ts: what a connected socket still
// holds of its handshake. When a socket connects (before the server's `connection` handlers run), it notes the
// handshake's size and the request the socket connected with; it also notes each websocket upgrade request
// of a polling session as it arrives; when the socket closes, it writes one line to stderr:
// `handshake-probe {json}` with all of it. The spec reads those lines. The probe throws at startup if Socket.IO
// or engine.io no longer has the methods it wraps, so that an upgrade cannot leave it observing nothing.
const { dirname } = require('node:path');
// the Socket.IO the server loads (resolved from its build, dist/src/main.js or STEPLINE_MAIN's), and its engine.io
const socketIoPath = require.resolve('socket.io', { paths: [dirname(process.argv[1])] });
const { Socket } = require(socketIoPath);
const engine = require(require.resolve('engine.io', { paths: [dirname(socketIoPath)] }));

const handleUpgrade = engine.Server.prototype.handleUpgrade;
if (typeof handleUpgrade !== 'function')
  throw new Error('handshake-probe: engine.io Server.handleUpgrade is gone');
/** The upgrade requests of polling sessions, by session id. */
const upgrades = new Map();
engine.Server.prototype.handleUpgrade = function (req, ...rest) {
  const sid = new URL(req.url, 'http://probe').searchParams.get('sid');
  if (sid) upgrades.set(sid, req);
  return handleUpgrade.call(this, req, ...rest);
};

const onconnect = Socket.prototype._onconnect;
const onclose = Socket.prototype._onclose;
if (typeof onconnect !== 'function' || typeof onclose !== 'function')
  throw new Error('handshake-probe: socket.io Socket._onconnect/_onclose are gone');

const size = (o) => (o && typeof o === 'object' ? Object.keys(o).length : 0);
const seen = new WeakMap();

Socket.prototype._onconnect = function (...args) {
  const hs = this.handshake;
  seen.set(this, {
    request: this.conn.request,
    before: {
      headers: size(hs.headers),
      query: size(hs.query),
      auth: size(hs.auth),
      request: this.conn.request ? 'held' : 'none',
    },
  });
  return onconnect.apply(this, args);
};

Socket.prototype._onclose = function (...args) {
  const s = seen.get(this);
  if (s) {
    const hs = this.handshake;
    const req = s.request;
    const after = {
      headers: size(hs.headers),
      query: size(hs.query),
      auth: size(hs.auth),
      url: hs.url,
      request: this.conn.request ? 'held' : 'none',
      requestHeaders: req ? size(req.headers) : null,
      rawHeaders: req && req.rawHeaders ? req.rawHeaders.length : null,
      upgradeHeaders: null,
      upgradeRawHeaders: null,
    };
    const up = upgrades.get(this.conn.id);
    if (up) {
      upgrades.delete(this.conn.id);
      after.upgradeHeaders = size(up.headers);
      after.upgradeRawHeaders = up.rawHeaders.length;
    }
    process.stderr.write(`handshake-probe ${JSON.stringify({ id: this.id, before: s.before, after })}\n`);
  }
  return onclose.apply(this, args);
};
