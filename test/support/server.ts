import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
/** STEPLINE_MAIN lets a run use another build (e.g. while a benchmark holds dist/). */
const MAIN = process.env.STEPLINE_MAIN ?? join(__dirname, '..', '..', 'dist', 'src', 'main.js');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface RunningServer {
  url: string;
  port: number;
  proc: ChildProcess;
  output: () => string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit: a crash. */
  kill(): Promise<void>;
}

export interface StartOptions {
  databaseUrl: string;
  env?: Record<string, string>;
  port?: number;
  /** Wait for /health 200 (default) or only for the port to answer. */
  waitFor?: 'healthy' | 'listening';
  /** Node options before the script (e.g. `-r` a probe). */
  nodeArgs?: string[];
  /** Open an IPC channel to the server (`proc.send`, `proc.on('message')`), for a preloaded probe. */
  ipc?: boolean;
}

/** Starts the real built server (`dist/src/main.js`) as a child process, as `npm start` would. */
export async function startServer(opts: StartOptions): Promise<RunningServer> {
  const port = opts.port ?? (await freePort());
  let out = '';
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), MAIN], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: opts.databaseUrl,
      ADMIN_TOKEN,
      LOG_LEVEL: 'warn',
      ...opts.env,
    },
    stdio: opts.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (d) => (out += String(d)));
  proc.stderr!.on('data', (d) => (out += String(d)));
  let stopping = false;
  const exited = new Promise<void>((r) =>
    proc.once('exit', (code, signal) => {
      // a server that dies on its own in the middle of a spec says why (its last output), instead of leaving
      // only the next request's ECONNREFUSED to read
      if (!stopping && started)
        process.stderr.write(
          `\n[stepline tests] the server on port ${port} exited by itself (code ${code}, signal ${signal}); its last output:\n${out.slice(-8000)}\n`,
        );
      r();
    }),
  );
  let started = false;
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited early:\n${out}`);
    try {
      const res = await fetch(`${url}/health`);
      if (opts.waitFor === 'listening' || res.status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`server did not become ready:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  started = true;
  return {
    url,
    port,
    proc,
    output: () => out,
    stop: async () => {
      stopping = true;
      if (proc.exitCode === null) proc.kill('SIGTERM');
      // the server bounds its own shutdown (SHUTDOWN_TIMEOUT_MS, 10 s by default); one that outlives that by far
      // is a bug to read about, not a spec that hangs until jest's timeout with the next tests refused
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), 30_000)));
      const outcome = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (outcome === 'late') {
        proc.kill('SIGKILL');
        await exited;
        throw new Error(
          `the server on port ${port} did not exit within 30 s of SIGTERM; its last output:\n${out.slice(-8000)}`,
        );
      }
      // a shutdown that hit its deadline says what it waited on: show it in the test output
      if (proc.exitCode === 1 && /graceful shutdown .* did not finish/.test(out))
        process.stderr.write(
          `\n[stepline tests] the server on port ${port} hit its shutdown deadline:\n${out.slice(-4000)}\n`,
        );
    },
    kill: async () => {
      stopping = true;
      if (proc.exitCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}
