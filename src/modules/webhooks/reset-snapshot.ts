/**
 * TO WIRE AT MERGE (§12): the snapshot sent with a `{ reset: true, lastSeq, snapshot }` delivery, for a
 * webhook whose cursor is older than the log keeps. The §12 snapshot query (the event log's reset answer) is
 * being added in parallel and is not in this branch's base: until it is wired here, `snapshot` is null and
 * receivers re-read state over REST. This is the only place to change.
 */
export function resetSnapshot(_projectId: string, _lastSeq: number): Promise<unknown> {
  return Promise.resolve(null);
}
