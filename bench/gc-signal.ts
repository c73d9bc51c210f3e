import { appendFileSync } from 'node:fs';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';

/**
 * Preloaded (`node --expose-gc -r gc-signal.js …`) into every server the idle cell measures: SIGWINCH runs a
 * full garbage collection and then writes `bench-gc <n>` to stderr, so that the bench reads RSS after the
 * collection it asked for and not after whatever garbage the connects left. SIGWINCH because its default is
 * to be ignored (a server started without this file is not killed by it) and Nest's shutdown hooks do not
 * listen to it (they take SIGUSR2). With BENCH_HEAP_LOG=<file>, each collection also appends one JSON line
 * to that file: the process's RSS and V8's heap spaces (committed / used MiB), to see where a server's
 * resident memory is; with BENCH_HEAP_SNAPSHOT=<prefix>, a heap snapshot `<prefix>-<pid>-<n>.heapsnapshot`.
 */
const gc = (globalThis as { gc?: () => void }).gc;
const heapLog = process.env.BENCH_HEAP_LOG;
let collections = 0;
if (gc)
  process.on('SIGWINCH', () => {
    gc();
    if (heapLog) {
      const mib = (n: number) => Math.round((n / 1048576) * 10) / 10;
      const spaces: Record<string, string> = {};
      for (const s of getHeapSpaceStatistics())
        if (s.space_size) spaces[s.space_name] = `${mib(s.space_size)}/${mib(s.space_used_size)}`;
      const { rss, external } = process.memoryUsage();
      const line = {
        pid: process.pid,
        argv: process.argv[1],
        n: collections + 1,
        rss: mib(rss),
        external: mib(external),
        spaces,
      };
      appendFileSync(heapLog, JSON.stringify(line) + '\n');
    }
    if (process.env.BENCH_HEAP_SNAPSHOT)
      writeHeapSnapshot(`${process.env.BENCH_HEAP_SNAPSHOT}-${process.pid}-${collections + 1}.heapsnapshot`);
    process.stderr.write(`bench-gc ${++collections}\n`);
  });
