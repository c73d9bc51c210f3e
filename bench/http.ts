import { Agent, request } from 'node:http';
import type { ServerOptions } from 'socket.io';

/**
 * One JSON POST on `agent` (keep-alive). Never rejects: a connection error resolves with status 0 and the
 * error as body. Plain module (node:http only): child-process entry files may import it.
 */
export function postJson(
  agent: Agent,
  base: URL,
  path: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: base.hostname,
        port: base.port,
        path,
        method: 'POST',
        agent,
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', (err) => resolve({ status: 0, body: String(err) }));
    req.end(body);
  });
}

/** A JSON POST through fetch with a bearer token; the answer's body parsed (undefined when empty). */
export async function api(
  base: string,
  token: string,
  path: string,
  body: unknown,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Socket.IO settings of the bare baselines (fanout-baseline, compare-relay), alike so they compare fairly. */
export const SOCKET_IO_OPTIONS: Partial<ServerOptions> = {
  path: '/socket.io',
  transports: ['polling', 'websocket'],
  maxHttpBufferSize: 1e6,
  pingInterval: 10_000,
  pingTimeout: 10_000,
};
