/**
 * Loaded into the server with `--require` when BENCH_PROF is set, next to `--cpu-prof`. Nest's shutdown hook
 * ends the process by re-raising SIGTERM at itself, and a process killed by a signal writes no CPU profile;
 * turning that last self-kill into a normal exit lets Node write it.
 */
const kill = process.kill.bind(process);
process.kill = (pid: number, signal?: string | number) => {
  if (pid === process.pid) process.exit(0);
  return kill(pid, signal);
};
