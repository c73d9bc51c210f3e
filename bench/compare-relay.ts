import { createServer } from 'node:http';
import { QueueEvents } from 'bullmq';
import { Server } from 'socket.io';
import { SOCKET_IO_OPTIONS } from './http';

/**
 * The hand-wired pipeline's relay of the compare suite (`node compare-relay.js <port> <redis url> <queue>
 * <prefix>`): what a team wires up without Stepline. A BullMQ `QueueEvents` reads the queue's event stream
 * and relays every `progress` event to the Socket.IO room of its job (`job:<id>`), as the event `progress`
 * with `{ jobId, data }` (data: what the worker passed to `job.updateProgress`). A client `join`s the rooms
 * of the jobs it watches. No auth, no history, no order beyond Redis's: not durable, not replayable. The
 * Socket.IO options are the ones Stepline's adapter sets.
 */
const port = Number(process.argv[2]);
const redis = new URL(process.argv[3]);
const queue = process.argv[4];
const prefix = process.argv[5];

const http = createServer((req, res) => {
  res.writeHead(req.url === '/health' ? 200 : 404, { 'content-type': 'application/json' });
  res.end('{"status":"ok"}');
});
const io = new Server(http, SOCKET_IO_OPTIONS);

io.on('connection', (socket) => {
  socket.on('join', (body: { jobIds?: unknown }, ack?: (r: unknown) => void) => {
    const ids = Array.isArray(body?.jobIds) ? body.jobIds.filter((x) => typeof x === 'string') : [];
    for (const id of ids) void socket.join(`job:${id}`);
    if (typeof ack === 'function') ack({ ok: true, joined: ids.length });
  });
  socket.on('leave', (body: { jobIds?: unknown }, ack?: (r: unknown) => void) => {
    const ids = Array.isArray(body?.jobIds) ? body.jobIds.filter((x) => typeof x === 'string') : [];
    for (const id of ids) void socket.leave(`job:${id}`);
    if (typeof ack === 'function') ack({ ok: true });
  });
});

const events = new QueueEvents(queue, {
  prefix,
  connection: {
    host: redis.hostname,
    port: Number(redis.port || 6379),
    ...(redis.password ? { password: decodeURIComponent(redis.password) } : {}),
  },
});
events.on('progress', ({ jobId, data }) => {
  io.to(`job:${jobId}`).emit('progress', { jobId, data });
});
events.on('error', (err) => process.stderr.write(`QueueEvents error: ${String(err)}\n`));

void (async () => {
  await events.waitUntilReady();
  await new Promise<void>((r) => http.listen(port, '127.0.0.1', r));
  // QueueEvents reads from '$' (new events only): let its first blocking XREAD be on its way
  await new Promise((r) => setTimeout(r, 200));
  process.stdout.write(`listening on ${port}\n`);
})().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});

process.on('SIGTERM', () => {
  void Promise.allSettled([events.close(), io.close()]).then(() => process.exit(0));
  setTimeout(() => process.exit(0), 3000).unref();
});
