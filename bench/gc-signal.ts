/**
 * Preloaded (`node --expose-gc -r gc-signal.js …`) into every server the idle cell measures: SIGWINCH runs a
 * full garbage collection and then writes `bench-gc <n>` to stderr, so that the bench reads RSS after the
 * collection it asked for and not after whatever garbage the connects left. SIGWINCH because its default is
 * to be ignored (a server started without this file is not killed by it) and Nest's shutdown hooks do not
 * listen to it (they take SIGUSR2).
 */
const gc = (globalThis as { gc?: () => void }).gc;
let collections = 0;
if (gc)
  process.on('SIGWINCH', () => {
    gc();
    process.stderr.write(`bench-gc ${++collections}\n`);
  });
