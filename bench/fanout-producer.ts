import { Agent } from 'node:http';
import { postJson } from './http';

/**
 * The fan-out producer (plain module: the bench process and the subscriber processes both run it). Posts
 * `rate` updates a second for `seconds` to `path`, open loop (each send is due at t0 + i / rate, whatever
 * the answers do; at most `maxInFlight` awaiting an answer), each stamped with its send time in `message`
 * as `<tag>|<i>|<epoch ms>`. A keep-alive agent per call, destroyed at its end: a connection left idle
 * between cells would be closed by the server (keep-alive timeout) just as the next cell sends on it.
 */
export const MAX_IN_FLIGHT = 64;
export const PRODUCER_TOTAL = 1e15;

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let counter = 0;

export interface Produced {
  sentPerSecond: number;
  accepted: number;
  failed: number;
  /** Sends that went out ≥ 5 ms after their due time (the producer's event loop was busy). */
  late: number;
}

export async function produce(
  base: URL,
  path: string,
  headers: Record<string, string>,
  rate: number,
  seconds: number,
  tag: string,
  maxInFlight = MAX_IN_FLIGHT,
): Promise<Produced> {
  const n = Math.max(1, Math.round(rate * seconds));
  const agent = new Agent({ keepAlive: true, maxSockets: maxInFlight });
  const inFlight = new Set<Promise<void>>();
  let accepted = 0;
  let failed = 0;
  let late = 0;
  const t0 = performance.now();
  let last = t0;
  for (let i = 0; i < n; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait >= 1) await sleep(wait);
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    last = performance.now();
    if (last - due >= 5) late++;
    // rising across processes too (Stepline refuses a falling `current`): 10 µs ticks of the wall clock
    counter = Math.max(counter + 1, Math.floor(now() * 100));
    const body = JSON.stringify({
      current: counter,
      total: PRODUCER_TOTAL,
      message: `${tag}|${i}|${now().toFixed(3)}`,
    });
    const p: Promise<void> = postJson(agent, base, path, headers, body).then((r) => {
      if (r.status >= 200 && r.status < 300) accepted++;
      else failed++;
      inFlight.delete(p);
    });
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  agent.destroy();
  return { sentPerSecond: n / ((last - t0) / 1000 + 1 / rate), accepted, failed, late };
}
