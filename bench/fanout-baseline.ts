import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { Server } from 'socket.io';
import {
  corkWebsocketSends,
  type EngineSocket,
  type EngineTransport,
} from '../src/modules/realtime/engine-internals';
import { SOCKET_IO_OPTIONS } from './http';

/**
 * The fan-out suite's baseline: a bare Socket.IO server (`node fanout-baseline.js <port> <token>`) with the
 * options Stepline's adapter sets, and no framework, database or log. A subscriber authenticates with the
 * token in the handshake and `subscribe`s to a project (it joins the room `p:<project>`, as in Stepline);
 * `POST /emit` with a progress body (`{ current, total, message }`) broadcasts an envelope shaped like
 * Stepline's `workflow:step:progress` to that room at once, so that the producer's path (one HTTP POST per
 * update, then one broadcast) is the same. It keeps the envelopes in memory: `subscribe` with `since`
 * replays them from there (and `POST /fill?n=` makes n of them without sending), the floor for a replay.
 */
const port = Number(process.argv[2]);
const token = process.argv[3];
const PROJECT = process.env.FANOUT_PROJECT ?? 'fan';
const WORKFLOW = process.env.FANOUT_WORKFLOW ?? 'wf-fan';
const STEP = process.env.FANOUT_STEP ?? 's0';
const HISTORY = 20_000;

type Envelope = {
  seq: number;
  type: string;
  projectId: string;
  workflowId: string;
  stepId: string;
  attempt: number;
  at: string;
  data: Record<string, unknown>;
};

let seq = 0;
const history: Envelope[] = [];

function envelope(b: { current?: number; total?: number; message?: string }): Envelope {
  const env: Envelope = {
    seq: ++seq,
    type: 'workflow:step:progress',
    projectId: PROJECT,
    workflowId: WORKFLOW,
    stepId: STEP,
    attempt: 1,
    at: new Date().toISOString(),
    data: {
      status: 'running',
      progress: 0,
      current: b.current ?? null,
      total: b.total ?? null,
      message: b.message ?? null,
      workflowProgress: 0,
      eta: { remainingMs: null, finishAt: null, basis: 'none', remainingP90Ms: null, queueWaitMs: null },
    },
  };
  history.push(env);
  if (history.length > HISTORY) history.splice(0, history.length - HISTORY);
  return env;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

const http = createServer((req: IncomingMessage, res: ServerResponse) => {
  const reply = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.method === 'GET' && req.url === '/health') return reply(200, { status: 'ok' });
  if (req.method !== 'POST') return reply(404, {});
  readBody(req).then(
    (text) => {
      if (req.url === '/emit') {
        const env = envelope(JSON.parse(text));
        io.to(`p:${PROJECT}`).emit(env.type, env);
        return reply(200, { ok: true, seq: env.seq });
      }
      const fill = /^\/fill\?n=(\d+)$/.exec(req.url ?? '');
      if (fill) {
        const from = seq;
        for (let i = 0; i < Number(fill[1]); i++)
          envelope({ current: i, total: 1e15, message: `fill|${i}|0` });
        return reply(200, { from, lastSeq: seq });
      }
      reply(404, {});
    },
    () => reply(400, {}),
  );
});

const io = new Server(http, SOCKET_IO_OPTIONS);

// FANOUT_CORK=1: the same engine.io patch as Stepline's adapter (realtime-io.adapter.ts): the packets of one
// flush to a socket go out in one writev instead of one write each (fanout-why.ts measures what it changes)
if (process.env.FANOUT_CORK === '1')
  io.engine.on('connection', (socket: EngineSocket) => {
    corkWebsocketSends(socket.transport);
    socket.on('upgrade', (transport: EngineTransport) => corkWebsocketSends(transport));
  });

io.use((socket, next) => {
  const auth = socket.handshake.auth as { token?: unknown } | undefined;
  next(auth?.token === token ? undefined : new Error('unauthorized'));
});

io.on('connection', (socket) => {
  socket.on('subscribe', (msg: { projectId?: string; since?: number }, ack?: (a: unknown) => void) => {
    if (msg?.projectId !== PROJECT) return ack?.({ ok: false, code: 'forbidden' });
    let replayed = 0;
    if (typeof msg.since === 'number') {
      for (const env of history) {
        if (env.seq <= msg.since) continue;
        socket.emit(env.type, env);
        replayed++;
      }
    }
    void socket.join(`p:${PROJECT}`);
    ack?.({ ok: true, lastSeq: seq, replayed });
  });
});

http.listen(port, '127.0.0.1', () => process.stdout.write('listening\n'));
