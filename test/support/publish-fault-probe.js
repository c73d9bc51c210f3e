// Preloaded (`node -r`) into the built server by group-commit.e2e-spec.ts: a fault after the commit. The unit
// of work's step that hands committed events to the EventBus throws, once, for a group that carries a log
// with the message $PUBLISH_FAULT. Whatever throws there runs after COMMIT: the group must not be committed
// again. Says so on stderr when it throws, so that the spec can tell the fault happened (and fails if an
// upgrade or a rename leaves this probe patching nothing).
const FAULT = process.env.PUBLISH_FAULT;
// the build the server runs (dist/src/main.js, or STEPLINE_MAIN's)
const { join, dirname } = require('node:path');
const { WorkflowUnitOfWork } = require(
  join(dirname(process.argv[1]), 'modules', 'workflows', 'database', 'workflow-unit-of-work'),
);

const publish = WorkflowUnitOfWork.prototype.publish;
if (typeof publish !== 'function') throw new Error('publish-fault-probe: WorkflowUnitOfWork.publish is gone');
let fired = false;
WorkflowUnitOfWork.prototype.publish = function (events) {
  if (!fired && events.some((e) => e.data && e.data.message === FAULT)) {
    fired = true;
    process.stderr.write('publish-fault-probe: threw after the commit\n');
    throw new Error('a fault after the commit (publish-fault-probe)');
  }
  return publish.call(this, events);
};
