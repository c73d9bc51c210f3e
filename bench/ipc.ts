import { ChildProcess } from 'node:child_process';

/** Calls sent to a child process over IPC and not answered yet, by request id. */
export type PendingCalls = Map<number, { resolve(v: any): void; reject(e: Error): void }>;

/**
 * Wires a child process spawned with an IPC channel and a piped stderr: keeps the last 4000 characters of its
 * stderr, settles `pending` from its `{ rid, ok, res?, error? }` answers and, when it exits, rejects every call
 * still pending with `${what} exited (…)` and that stderr. Returns a getter for the stderr tail.
 */
export function wireIpcChild(proc: ChildProcess, pending: PendingCalls, what: string): () => string {
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr = (stderr + String(d)).slice(-4000)));
  proc.on('message', (m: { rid: number; ok: boolean; res?: unknown; error?: string }) => {
    const p = pending.get(m.rid);
    if (!p) return;
    pending.delete(m.rid);
    if (m.ok) p.resolve(m.res);
    else p.reject(new Error(m.error));
  });
  proc.once('exit', (code, signal) => {
    for (const p of pending.values()) p.reject(new Error(`${what} exited (${signal ?? code}): ${stderr}`));
    pending.clear();
  });
  return () => stderr;
}
