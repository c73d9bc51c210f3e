// Preloaded (`node -r`) into the built server by boot-footprint.e2e-spec.ts: asked 'modules' over the IPC
// channel, it answers with the CommonJS modules the process has loaded (Nest's own ESM modules are not among
// them; TypeORM, mysql2 and ioredis are).
process.on('message', (m) => {
  if (m === 'modules') process.send({ modules: Object.keys(require.cache) });
});
