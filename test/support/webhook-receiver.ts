import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  raw: string;
  body: any;
  at: number;
}

/** What the receiver answers a request with: a status, or 'hang' (never answer; the sender times out). */
export type Answer = number | 'hang';

/** The README recipe for receivers, as a receiver would write it. */
export function verifyStepline(secret: string, rawBody: string, header: string | undefined): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m || Math.abs(Date.now() / 1000 - Number(m[1])) > 300) return false;
  const mac = createHmac('sha256', secret).update(`${m[1]}.${rawBody}`).digest();
  return timingSafeEqual(mac, Buffer.from(m[2], 'hex'));
}

/** A real HTTP webhook receiver on 127.0.0.1 that records every request and answers as told. */
export class WebhookReceiver {
  readonly requests: Received[] = [];
  /** Decides each request's answer (default 200); sees the request before it is recorded as answered. */
  answer: (r: Received) => Answer | Promise<Answer> = () => 200;
  private server!: Server;
  private port = 0;

  static async start(): Promise<WebhookReceiver> {
    const r = new WebhookReceiver();
    r.server = createServer((req, res) => r.handle(req, res));
    await new Promise<void>((ok) => r.server.listen(0, '127.0.0.1', ok));
    r.port = (r.server.address() as AddressInfo).port;
    return r;
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => void this.respond(req, res, chunks));
  }

  private async respond(req: IncomingMessage, res: ServerResponse, chunks: Buffer[]): Promise<void> {
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: any;
    try {
      body = JSON.parse(raw);
    } catch {
      body = undefined;
    }
    const rec: Received = { path: req.url ?? '', headers: req.headers, raw, body, at: Date.now() };
    this.requests.push(rec);
    const a = await this.answer(rec);
    if (a === 'hang') return;
    res.statusCode = a;
    res.end(a >= 200 && a < 300 ? 'ok' : 'nope');
  }

  /** Requests to `path`. */
  on(path: string): Received[] {
    return this.requests.filter((r) => r.path === path);
  }

  /** Every event seq delivered to `path`, in arrival order (duplicates kept). */
  seqs(path = '/hook'): number[] {
    return this.on(path).flatMap((r) => (r.body?.events ?? []).map((e: { seq: number }) => e.seq));
  }

  /** Distinct seqs delivered to `path`: what a receiver that dedupes by seq keeps. */
  distinctSeqs(path = '/hook'): number[] {
    return [...new Set(this.seqs(path))].sort((a, b) => a - b);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((ok) => this.server.close(() => ok()));
  }
}
