import { createServer, type IncomingMessage, type Server } from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Resolver } from './address-policy';
import { sendDelivery } from './webhook-sender';
import { verifySignature } from './signature';

/**
 * The connect-time check (DNS rebinding): the resolver is injected, so nothing here asks real DNS, and every
 * connection that is opened goes to 127.0.0.1.
 */
describe('sendDelivery', () => {
  let server: Server;
  let port: number;
  const seen: Array<{ req: IncomingMessage; body: string }> = [];
  let answer: (res: import('node:http').ServerResponse) => void = (res) => res.end('ok');

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ req, body });
        answer(res);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  afterEach(() => jest.restoreAllMocks());

  it('refuses before any socket is opened when the name now resolves to a private address', async () => {
    const connect = jest.spyOn(net.Socket.prototype, 'connect');
    const asked: string[] = [];
    // the name was checked at creation (public); at connect time it answers a private address
    const rebound: Resolver = (host) => {
      asked.push(host);
      return Promise.resolve([{ address: '10.0.0.1', family: 4 }]);
    };
    const before = seen.length;
    const r = await sendDelivery(`http://hooks.example.test:${port}/x`, 'wh_1', 'sec', '{}', {
      allowedHosts: new Set(),
      resolver: rebound,
    });
    expect(r).toMatchObject({ ok: false });
    expect(r.error).toMatch(/^refused: hooks\.example\.test resolves to 10\.0\.0\.1/);
    expect(asked).toEqual(['hooks.example.test']);
    expect(connect).not.toHaveBeenCalled();
    expect(seen.length).toBe(before);
  });

  it('refuses when one of several answers is loopback, and for IP literals (no socket either)', async () => {
    const connect = jest.spyOn(net.Socket.prototype, 'connect');
    const mixed: Resolver = () =>
      Promise.resolve([
        { address: '93.184.216.34', family: 4 },
        { address: '::1', family: 6 },
      ]);
    const a = await sendDelivery(`http://two.example.test:${port}/`, 'wh_1', 's', '{}', {
      allowedHosts: new Set(),
      resolver: mixed,
    });
    const b = await sendDelivery(`http://169.254.169.254/latest/meta-data`, 'wh_1', 's', '{}', {
      allowedHosts: new Set(),
      resolver: mixed,
    });
    expect(a.error).toMatch(/^refused: .*::1/);
    expect(b.error).toMatch(/^refused: 169\.254\.169\.254/);
    expect(connect).not.toHaveBeenCalled();
  });

  it('connects to the checked address only, keeping the URL host in the Host header, and signs the body', async () => {
    const connect = jest.spyOn(net.Socket.prototype, 'connect');
    let calls = 0;
    const resolver: Resolver = () => {
      calls++;
      return Promise.resolve([{ address: '127.0.0.1', family: 4 }]);
    };
    const before = seen.length;
    const body = JSON.stringify({ webhookId: 'wh_9', events: [{ seq: 1 }] });
    const r = await sendDelivery(`http://receiver.test:${port}/hook?x=1`, 'wh_9', 'topsecret', body, {
      allowedHosts: new Set(['receiver.test']),
      resolver,
    });
    expect(r).toEqual({ ok: true, status: 200 });
    expect(connect).toHaveBeenCalled(); // the spy the refusals rely on does see a real connection
    expect(calls).toBe(1); // resolved once, by the check: the connection did not resolve again
    const got = seen[before];
    expect(got.req.headers.host).toBe(`receiver.test:${port}`);
    expect(got.req.url).toBe('/hook?x=1');
    expect(got.req.headers['stepline-webhook-id']).toBe('wh_9');
    expect(got.body).toBe(body);
    expect(verifySignature('topsecret', got.body, String(got.req.headers['stepline-signature']))).toBe(true);
    expect(verifySignature('other', got.body, String(got.req.headers['stepline-signature']))).toBe(false);
  });

  it('counts the DNS lookup in the deadline: a resolver that never answers is a timeout, no socket opened', async () => {
    const connect = jest.spyOn(net.Socket.prototype, 'connect');
    const never: Resolver = () => new Promise(() => undefined);
    const t0 = Date.now();
    const r = await sendDelivery(`http://stuck.example.test:${port}/`, 'wh_1', 's', '{}', {
      allowedHosts: new Set(['stuck.example.test']),
      resolver: never,
      timeoutMs: 300,
    });
    expect(r).toEqual({ ok: false, error: 'refused: stuck.example.test did not resolve within 300 ms' });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(connect).not.toHaveBeenCalled();
  });

  it('gives the request only what the lookup left of the deadline', async () => {
    answer = () => undefined; // never answers
    const slowDns: Resolver = () =>
      new Promise((r) => setTimeout(() => r([{ address: '127.0.0.1', family: 4 }]), 250));
    const t0 = Date.now();
    const r = await sendDelivery(`http://slow-dns.test:${port}/`, 'wh_1', 's', '{}', {
      allowedHosts: new Set(['slow-dns.test']),
      resolver: slowDns,
      timeoutMs: 500,
    });
    const took = Date.now() - t0;
    answer = (res) => res.end('ok');
    expect(r.error).toMatch(/no answer within 500 ms/);
    expect(took).toBeGreaterThanOrEqual(480);
    expect(took).toBeLessThan(700); // not 250 + 500
  });

  it('follows no redirect, times out, and reads at most 64 KiB of an answer', async () => {
    const allowed = { allowedHosts: new Set(['127.0.0.1']) };
    answer = (res) => {
      res.writeHead(302, { location: 'http://169.254.169.254/' });
      res.end();
    };
    const before = seen.length;
    const r = await sendDelivery(`http://127.0.0.1:${port}/`, 'w', 's', '{}', allowed);
    expect(r).toMatchObject({ ok: false, status: 302 });
    expect(seen.length).toBe(before + 1);

    answer = () => undefined; // never answers
    const t0 = Date.now();
    const slow = await sendDelivery(`http://127.0.0.1:${port}/`, 'w', 's', '{}', {
      ...allowed,
      timeoutMs: 300,
    });
    expect(slow.error).toMatch(/no answer within 300 ms/);
    expect(Date.now() - t0).toBeLessThan(2000);

    let written = 0;
    answer = (res) => {
      res.writeHead(500);
      const chunk = Buffer.alloc(16 * 1024, 'x');
      const pump = () => {
        while (written < 10 * 1024 * 1024 && res.write(chunk)) written += chunk.length;
        if (written < 10 * 1024 * 1024) res.once('drain', pump);
        else res.end();
      };
      res.on('error', () => undefined);
      pump();
    };
    const big = await sendDelivery(`http://127.0.0.1:${port}/`, 'w', 's', '{}', allowed);
    expect(big).toMatchObject({ ok: false, status: 500 });
    expect(written).toBeLessThan(10 * 1024 * 1024); // the answer was cut off, not read to the end
    answer = (res) => res.end('ok');
  });
});
