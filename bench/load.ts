import autocannon from 'autocannon';
import { Latencies, Measured } from './stats';

export interface HttpLoad {
  url: string;
  connections: number;
  seconds: number;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  /** Builds each request: called once per request, so every request can carry fresh values. */
  next: () => { path: string; body?: string };
  /** Updates per accepted request (1, or the batch size). */
  updatesPerRequest?: number;
  /** The status that counts as success (default: any 2xx). */
  expect?: number;
}

const REJECTED = /"ok":false/g;

/** Drives the server with autocannon over keep-alive connections (one request in flight per connection). */
export function runHttp(load: HttpLoad): Promise<Measured> {
  const lat = new Latencies();
  let ok = 0;
  let bad = 0;
  let rejected = 0;
  const isOk = (status: number) => (load.expect ? status === load.expect : status >= 200 && status < 300);
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: load.url,
        connections: load.connections,
        duration: load.seconds,
        pipelining: 1,
        timeout: 30,
        method: load.method,
        headers: load.headers,
        requests: [{ method: load.method, setupRequest: (req) => ({ ...req, ...load.next() }) }],
        verifyBody: (body) => {
          if (body.length > 0 && body.includes('"ok":false')) rejected += body.match(REJECTED)?.length ?? 0;
          return true;
        },
      },
      (err, result) => {
        if (err) return reject(err);
        const [p50, p99] = lat.percentiles(50, 99);
        const per = load.updatesPerRequest ?? 1;
        resolve({
          ops: ok,
          updates: ok * per - rejected,
          seconds: result.duration,
          p50,
          p99,
          failures: bad + result.errors + result.timeouts,
          rejected,
        });
      },
    );
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (isOk(status)) {
        ok++;
        lat.add(ms);
      } else bad++;
    });
  });
}
