import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';

/**
 * The fan-out suite's second, independent floor: a plain `ws` server (`node fanout-ws-baseline.js <port>
 * <token>`), no Socket.IO, no engine.io. A client connects to `/ws?token=<token>` and sends
 * `{"subscribe":"<project>"}`; the server answers `{"ok":true}` and from then on sends it every envelope
 * of that project. `POST /emit` with a progress body (`{ current, total, message }`) makes an envelope
 * shaped like Stepline's `workflow:step:progress` (the same JSON as fanout-baseline.ts), serializes it
 * once, and sends that one buffer as a text frame to every subscriber: what a Socket.IO room broadcast
 * does, minus the Socket.IO and engine.io framing. Used to tell whether the bare Socket.IO baseline is
 * believable (both are the floor of "one HTTP POST in, one websocket frame out to N sockets").
 */
const port = Number(process.argv[2]);
const token = process.argv[3];
const PROJECT = process.env.FANOUT_PROJECT ?? 'fan';
const WORKFLOW = process.env.FANOUT_WORKFLOW ?? 'wf-fan';
const STEP = process.env.FANOUT_STEP ?? 's0';

let seq = 0;
const subscribers = new Set<WebSocket>();

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
  if (req.method !== 'POST' || req.url !== '/emit') return reply(404, {});
  readBody(req).then(
    (text) => {
      const b = JSON.parse(text) as { current?: number; total?: number; message?: string };
      const env = {
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
      const frame = Buffer.from(JSON.stringify(env));
      for (const ws of subscribers) ws.send(frame, { binary: false });
      reply(200, { ok: true, seq });
    },
    () => reply(400, {}),
  );
});

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 1e6 });

http.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname !== '/ws' || url.searchParams.get('token') !== token) {
    socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('message', (data) => {
      let msg: { subscribe?: unknown } | undefined;
      try {
        msg = JSON.parse(String(data)) as { subscribe?: unknown };
      } catch {
        msg = undefined;
      }
      if (msg?.subscribe !== PROJECT) return ws.send(JSON.stringify({ ok: false, code: 'forbidden' }));
      subscribers.add(ws);
      ws.send(JSON.stringify({ ok: true, lastSeq: seq }));
    });
    ws.on('close', () => subscribers.delete(ws));
    ws.on('error', () => subscribers.delete(ws));
  });
});

http.listen(port, '127.0.0.1', () => process.stdout.write('listening\n'));
