import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import {
  AddressRefused,
  resolveChecked,
  systemResolver,
  type ResolvedAddress,
  type Resolver,
} from './address-policy';
import { signatureHeader } from './signature';

/** A delivery that takes longer than this (connect, send, answer) is a failure. */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** At most this much of a receiver's answer is read (kept for `lastError`); the rest is dropped. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

export interface SendOptions {
  allowedHosts: ReadonlySet<string>;
  resolver?: Resolver;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface SendResult {
  ok: boolean;
  status?: number;
  /** Why it failed (status and the start of the answer, or the network error), for `lastError`. */
  error?: string;
}

/**
 * POSTs one signed delivery. The host is resolved and every address checked first (AddressRefused: no
 * socket is opened); the connection then goes to those checked addresses only (the `lookup` hook answers
 * them instead of resolving again, so a DNS answer that changes in between cannot slip through), with the
 * URL's host name in the Host header and as TLS SNI. No redirect is followed (a 3xx is a failure), the
 * whole exchange — the DNS lookup included — is bounded by `timeoutMs` and at most MAX_RESPONSE_BYTES of the
 * answer are read.
 */
export async function sendDelivery(
  url: string,
  webhookId: string,
  secret: string,
  body: string,
  opts: SendOptions,
): Promise<SendResult> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return { ok: false, error: 'the url cannot be parsed' };
  }
  // the deadline covers the DNS lookup too: a resolver that never answers is a timeout like any other
  const timeoutMs = opts.timeoutMs ?? DELIVERY_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  let addresses: ResolvedAddress[];
  try {
    addresses = await resolveChecked(
      target.hostname,
      opts.allowedHosts,
      opts.resolver ?? systemResolver,
      timeoutMs,
    );
  } catch (err) {
    if (err instanceof AddressRefused) return { ok: false, error: `refused: ${err.message}` };
    throw err;
  }
  if (opts.signal?.aborted) return { ok: false, error: 'aborted' };
  const remainingMs = Math.max(0, deadline - Date.now());
  const pinned: LookupFunction = (_host, options, callback) => {
    const cb = callback as (...args: unknown[]) => void;
    if ((options as { all?: boolean }).all) cb(null, addresses);
    else cb(null, addresses[0].address, addresses[0].family);
  };
  const reqOpts: RequestOptions = {
    method: 'POST',
    protocol: target.protocol,
    hostname: target.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: target.port || undefined,
    path: `${target.pathname}${target.search}`,
    auth:
      target.username || target.password
        ? `${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`
        : undefined,
    lookup: pinned,
    agent: false,
    headers: {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'user-agent': 'Stepline-Webhooks/1',
      'stepline-webhook-id': webhookId,
      'stepline-signature': signatureHeader(secret, body),
    },
  };
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const finish = (r: SendResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      req.destroy();
      resolve(r);
    };
    const onAbort = () => finish({ ok: false, error: 'aborted' });
    const timer = setTimeout(
      () => finish({ ok: false, error: `no answer within ${timeoutMs} ms` }),
      remainingMs,
    );
    const req = send(reqOpts, (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_RESPONSE_BYTES) chunks.push(c.subarray(0, MAX_RESPONSE_BYTES - size));
        size += c.length;
        if (size >= MAX_RESPONSE_BYTES) done();
      });
      const done = () => {
        const ok = status >= 200 && status < 300;
        const text = Buffer.concat(chunks).toString('utf8').slice(0, 200);
        finish(ok ? { ok, status } : { ok, status, error: `HTTP ${status}${text ? `: ${text}` : ''}` });
      };
      res.on('end', done);
      res.on('error', (e) => finish({ ok: false, status, error: e.message }));
    });
    req.on('error', (e) => finish({ ok: false, error: e.message }));
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort);
    req.end(body);
  });
}
