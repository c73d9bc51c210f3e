import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { ADMIN_TOKEN, freePort } from '../test/support/server';

export { ADMIN_TOKEN };

/** The built server (`npm run build`), from this compiled file in `dist-bench/bench/`. */
const MAIN = join(__dirname, '..', '..', 'dist', 'src', 'main.js');

export interface BenchServer {
  url: string;
  proc: ChildProcess;
  output(): string;
  /** How it ended, once it has. */
  exit(): string | undefined;
  stop(): Promise<void>;
}

/**
 * Starts the real server as `npm start` runs it. (test/support/server.ts does the same for ts-jest, where
 * it finds `dist/` from the sources; compiled into `dist-bench/` that path no longer holds, hence this.)
 */
export async function startServer(
  databaseUrl: string,
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): Promise<BenchServer> {
  const port = await freePort();
  return spawnAndWait([...nodeArgs, MAIN], port, '/health', {
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    ADMIN_TOKEN,
    LOG_LEVEL: 'warn',
    // the suites drive one key far past the §10 defaults (2000 requests/s, 1000 sockets: fanout connects
    // 10,000 with one key): the limits stay on (their cost is in every figure) at values no cell reaches;
    // the limits suite measures the rate limiter on and off
    RATE_LIMIT_PER_KEY: '1000000',
    MAX_CONNECTIONS_PER_KEY: '1000000',
    MAX_WAITING_CLAIMS_PER_KEY: '100000',
    ...env,
  });
}

/** The bare Nest app of noop-server.ts, on Express or Fastify: the framework's floor on this machine. */
export async function startNoopServer(adapter: 'express' | 'fastify' = 'express'): Promise<BenchServer> {
  const port = await freePort();
  return spawnAndWait([join(__dirname, 'noop-server.js'), String(port), adapter], port, null, {});
}

/** The bare Socket.IO server of fanout-baseline.ts: the fan-out suite's floor. */
export async function startFanoutBaseline(
  token: string,
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): Promise<BenchServer> {
  const port = await freePort();
  return spawnAndWait(
    [...nodeArgs, join(__dirname, 'fanout-baseline.js'), String(port), token],
    port,
    '/health',
    env,
  );
}

/** The plain `ws` server of fanout-ws-baseline.ts: the fan-out suite's second, independent floor. */
export async function startWsBaseline(token: string, nodeArgs: string[] = []): Promise<BenchServer> {
  const port = await freePort();
  return spawnAndWait(
    [...nodeArgs, join(__dirname, 'fanout-ws-baseline.js'), String(port), token],
    port,
    '/health',
    {},
  );
}

/** Node flags that let the bench force a full GC in a server (gc-signal.ts), then read its RSS. */
export const GC_NODE_ARGS = ['--expose-gc', '-r', join(__dirname, 'gc-signal.js')];

/** Runs a full GC in a server started with GC_NODE_ARGS and waits until it is done. */
export async function collectGarbage(server: BenchServer): Promise<void> {
  const count = (server.output().match(/^bench-gc \d+$/gm) ?? []).length;
  server.proc.kill('SIGWINCH');
  const deadline = Date.now() + 30_000;
  while ((server.output().match(/^bench-gc \d+$/gm) ?? []).length <= count) {
    if (Date.now() > deadline || server.proc.exitCode !== null)
      throw new Error(`no forced GC in the server:\n${server.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The hand-wired BullMQ → QueueEvents → Socket.IO relay of compare-relay.ts: the compare suite's pipeline. */
export async function startCompareRelay(
  redisUrl: string,
  queue: string,
  prefix: string,
): Promise<BenchServer> {
  const port = await freePort();
  return spawnAndWait(
    [join(__dirname, 'compare-relay.js'), String(port), redisUrl, queue, prefix],
    port,
    null,
    {},
  );
}

async function spawnAndWait(
  args: string[],
  port: number,
  healthPath: string | null,
  env: Record<string, string>,
): Promise<BenchServer> {
  let out = '';
  const proc = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout.on('data', (d) => (out = (out + String(d)).slice(-200_000)));
  proc.stderr.on('data', (d) => (out = (out + String(d)).slice(-200_000)));
  let exit: string | undefined;
  const exited = new Promise<void>((r) =>
    proc.once('exit', (code, signal) => {
      exit = signal ? `killed by ${signal}` : `exited with code ${code}`;
      r();
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited early:\n${out}`);
    try {
      if (healthPath === null) {
        if (out.includes('listening')) break;
      } else if ((await fetch(`${url}${healthPath}`)).status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`server did not become ready:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    proc,
    output: () => out,
    exit: () => exit,
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}
