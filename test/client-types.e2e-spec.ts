import { EVENT_TYPES, Stepline, type SteplineEvent } from '@stepline/client';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import * as ts from 'typescript';
import { ERROR_STATUS } from '../src/common/errors/domain-error';
import { ALL_EVENT_TYPES } from '../src/common/events/event-types';
import { useServer } from './support/fixture';
import { Client, createKey, expectStatus } from './support/http';
import { waitFor } from './support/live-clients';
import { ADMIN_TOKEN } from './support/server';

/**
 * The client's types cannot drift from the server's (§16). The declarations in client/src/types.ts are read
 * with the TypeScript compiler and compared
 * - with the server's OpenAPI document (GET /api/docs-json): the same properties, the same required ones,
 *   the same enums, for every schema the server declares;
 * - with real answers of the running server, for what the document does not describe (logs, claims, keys,
 *   projects, queues, errors, batch results, every event type, subscribe acks): every field the server sends
 *   is declared, every declared required field is sent, and each value has the declared type, recursively;
 * - with the server's own lists of event types and error codes.
 * A field added, removed, renamed or made optional on either side fails here.
 */

const TYPES_FILE = join(__dirname, '..', 'client', 'src', 'types.ts');
const program = ts.createProgram([TYPES_FILE], {
  strict: true,
  target: ts.ScriptTarget.ES2022,
  noEmit: true,
});
const checker = program.getTypeChecker();
const source = program.getSourceFile(TYPES_FILE)!;
const exported = new Map<string, ts.Type>();
for (const sym of checker.getExportsOfModule(checker.getSymbolAtLocation(source)!)) {
  const decl = sym.declarations?.[0];
  if (decl && (ts.isInterfaceDeclaration(decl) || ts.isTypeAliasDeclaration(decl)))
    exported.set(sym.name, checker.getDeclaredTypeOfSymbol(sym));
}

function declared(name: string): ts.Type {
  const t = exported.get(name);
  if (!t) throw new Error(`client/src/types.ts does not export ${name}`);
  return t;
}

const isOptional = (p: ts.Symbol) => (p.flags & ts.SymbolFlags.Optional) !== 0;
const parts = (t: ts.Type): ts.Type[] => (t.isUnion() ? t.types : [t]);
const has = (t: ts.Type, flag: ts.TypeFlags) => parts(t).some((x) => (x.flags & flag) !== 0);
const nonNull = (t: ts.Type) =>
  parts(t).filter((x) => !(x.flags & (ts.TypeFlags.Null | ts.TypeFlags.Undefined)));

/** Property names and which are optional, of an interface or alias (intersections resolved by the checker). */
function shapeOf(t: ts.Type): { props: string[]; required: string[] } {
  const props = checker.getPropertiesOfType(t);
  return {
    props: props.map((p) => p.name).sort(),
    required: props
      .filter((p) => !isOptional(p))
      .map((p) => p.name)
      .sort(),
  };
}

/** The literal values of a string-literal union, or undefined when the type is not one. */
function literals(t: ts.Type): string[] | undefined {
  const ps = nonNull(t);
  if (ps.length && ps.every((x) => x.isStringLiteral())) return ps.map((x) => x.value).sort();
  return undefined;
}

/**
 * What is wrong with `value` as a `t`: undeclared fields, missing required ones, wrong primitive types or
 * literals, recursively through objects, arrays, unions (the first member that fits) and nulls.
 */
function problems(t: ts.Type, value: unknown, path: string): string[] {
  if (t.flags & (ts.TypeFlags.Unknown | ts.TypeFlags.Any)) return [];
  if (value === null) return has(t, ts.TypeFlags.Null) ? [] : [`${path}: null is not declared`];
  const options = nonNull(t);
  if (
    options.length > 1 &&
    !options.every((x) => x.isStringLiteral() || x.flags & ts.TypeFlags.BooleanLiteral)
  ) {
    let best: string[] | undefined;
    for (const o of options) {
      const p = problems(o, value, path);
      if (p.length === 0) return [];
      if (!best || p.length < best.length) best = p;
    }
    return best ?? [];
  }
  if (typeof value === 'string') {
    const lits = literals(t);
    if (lits) return lits.includes(value) ? [] : [`${path}: "${value}" is not one of ${lits.join('|')}`];
    return has(t, ts.TypeFlags.StringLike) ? [] : [`${path}: a string is not declared`];
  }
  if (typeof value === 'number')
    return has(t, ts.TypeFlags.NumberLike) ? [] : [`${path}: a number is not declared`];
  if (typeof value === 'boolean')
    return has(t, ts.TypeFlags.BooleanLike) ? [] : [`${path}: a boolean is not declared`];
  const obj = options[0];
  if (Array.isArray(value)) {
    if (!checker.isArrayType(obj)) return [`${path}: an array is not declared`];
    const el = checker.getTypeArguments(obj as ts.TypeReference)[0];
    return value.flatMap((v, i) => problems(el, v, `${path}[${i}]`)).slice(0, 5);
  }
  if (typeof value === 'object' && value) {
    const props = checker.getPropertiesOfType(obj);
    if (props.length === 0) return []; // Record<string, unknown> and the like
    const out: string[] = [];
    const rec = value as Record<string, unknown>;
    for (const p of props) {
      if (!(p.name in rec)) {
        if (!isOptional(p)) out.push(`${path}.${p.name}: declared required, not sent`);
        continue;
      }
      out.push(...problems(checker.getTypeOfSymbol(p), rec[p.name], `${path}.${p.name}`));
    }
    const names = new Set(props.map((p) => p.name));
    for (const k of Object.keys(rec)) if (!names.has(k)) out.push(`${path}.${k}: sent, not declared`);
    return out;
  }
  return [`${path}: unexpected ${typeof value}`];
}

const check = (name: string, value: unknown) => expect(problems(declared(name), value, name)).toEqual([]);

describe('@stepline/client types match the server (§16)', () => {
  let url: string;
  let admin: Client;
  let sl: Stepline;
  // webhooks to 127.0.0.1 may be created (creating one sends nothing, §15)
  useServer(
    (fx) => {
      url = fx.server.url;
      admin = fx.admin;
      sl = new Stepline({ baseUrl: url, token: ADMIN_TOKEN });
    },
    { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' },
  );

  it('the compiler reads every declaration', () => {
    expect(
      program.getSemanticDiagnostics(source).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')),
    ).toEqual([]);
    expect(exported.size).toBeGreaterThan(40);
  });

  it('every schema of the OpenAPI document has the same properties, required set and enums', async () => {
    const doc = await (await fetch(`${url}/api/docs-json`)).json();
    const schemas = doc.components.schemas as Record<
      string,
      { properties?: Record<string, any>; required?: string[] }
    >;
    // server schema name → client type name
    const pairs: Record<string, string> = {
      WorkflowView: 'Workflow',
      StepView: 'Step',
      EtaView: 'Eta',
      WorkflowPage: 'WorkflowPage',
      CreateWorkflowRequest: 'CreateWorkflowRequest',
      StepDefinition: 'StepDefinition',
      MessageRequest: 'MessageRequest',
      StepProgressRequest: 'StepProgressRequest',
      CompleteStepRequest: 'CompleteStepRequest',
      ErrorInfoRequest: 'ErrorInfoRequest',
      FailStepRequest: 'FailStepRequest',
      CancelWorkflowRequest: 'CancelWorkflowRequest',
      AppendLogRequest: 'AppendLogRequest',
      BatchProgressUpdate: 'BatchProgressUpdate',
      BatchProgressRequest: 'BatchProgressRequest',
      ClaimRequest: 'ClaimRequest',
      HeartbeatRequest: 'HeartbeatRequest',
      CreateKeyRequest: 'CreateKeyRequest',
      ParentRequest: 'ParentRef',
      ParentRefView: 'ParentRef',
      CreateWebhookRequest: 'CreateWebhookRequest',
      StepDurationsView: 'StepDurations',
      StepDurationView: 'StepDuration',
    };
    // the analysis and session requests (§5, §7) are not part of the client
    const outOfScope = new Set(['SubmitAnalysisRequest', 'StartAnalysisRequest']);
    const unmapped = Object.keys(schemas).filter((k) => !pairs[k] && !outOfScope.has(k));
    expect(unmapped).toEqual([]);
    for (const [schemaName, typeName] of Object.entries(pairs)) {
      const schema = schemas[schemaName];
      expect({ schemaName, present: !!schema }).toEqual({ schemaName, present: true });
      const mine = shapeOf(declared(typeName));
      expect({ typeName, props: mine.props }).toEqual({
        typeName,
        props: Object.keys(schema.properties ?? {}).sort(),
      });
      expect({ typeName, required: mine.required }).toEqual({
        typeName,
        required: [...(schema.required ?? [])].sort(),
      });
      for (const [prop, s] of Object.entries(schema.properties ?? {})) {
        if (!Array.isArray(s.enum)) continue;
        const p = checker.getPropertyOfType(declared(typeName), prop)!;
        expect({ typeName, prop, values: literals(checker.getTypeOfSymbol(p)) }).toEqual({
          typeName,
          prop,
          values: [...(s.enum as string[])].sort(),
        });
      }
    }
  });

  it('the event types are exactly the server’s own', () => {
    const union = declared('SteplineEvent') as ts.UnionType;
    const inUnion = union.types.map(
      (m) => literals(checker.getTypeOfSymbol(checker.getPropertyOfType(m, 'type')!))![0],
    );
    expect([...inUnion].sort()).toEqual([...EVENT_TYPES].sort());
    expect([...EVENT_TYPES].sort()).toEqual([...ALL_EVENT_TYPES].sort());
    expect(literals(declared('EventType'))).toEqual([...ALL_EVENT_TYPES].sort());
  });

  it('the error codes are exactly the server’s own table (ERROR_STATUS)', () => {
    expect(literals(declared('ErrorCode'))).toEqual(Object.keys(ERROR_STATUS).sort());
  });

  it('a fail request’s error is what the server accepts: no childId (the server refuses it as unknown)', async () => {
    const failBody = declared('FailStepRequest');
    const error = checker.getTypeOfSymbol(checker.getPropertyOfType(failBody, 'error')!);
    expect(shapeOf(error)).toEqual(shapeOf(declared('ErrorInfoRequest')));
    const wf = await sl.createWorkflow('types-fail', { type: 't', steps: [{ id: 's' }] });
    const refused = await admin.post(`/api/workflows/${wf.id}/steps/s/fail`, {
      error: { message: 'x', childId: 'c' },
    });
    expect(refused.body.code).toBe('validation_failed');
  });

  it('real webhook answers: a create (with and without types) and the list', async () => {
    const made = [
      await admin.post('/api/projects/types-wh/webhooks', { url: 'http://127.0.0.1:9/all' }),
      await admin.post('/api/projects/types-wh/webhooks', {
        url: 'http://127.0.0.1:9/some',
        types: ['workflow:completed', 'workflow:failed'],
        from: 'start',
      }),
    ];
    for (const res of made) {
      expectStatus(res, 201);
      check('CreatedWebhook', res.body);
    }
    expect([...made[0].body.types].sort()).toEqual([...ALL_EVENT_TYPES].sort());
    const list = await admin.get('/api/projects/types-wh/webhooks');
    expectStatus(list, 200);
    expect(list.body.items).toHaveLength(2);
    for (const w of list.body.items) check('Webhook', w);
  });

  it('real answers: every REST shape the document does not describe, and every error body', async () => {
    const wf = await sl.createWorkflow('types', { type: 't', queue: 'types-q', steps: [{ id: 'a' }] });
    const claim = await admin.post('/api/queues/types-q/claim', { workerId: 'w1', leaseMs: 5000 });
    expectStatus(claim, 200);
    check('ClaimResponse', claim.body);
    const lease = { 'x-lease-token': claim.body.leaseToken };
    const beat = await admin.post(`/api/workflows/${wf.id}/heartbeat`, { leaseToken: claim.body.leaseToken });
    check('HeartbeatResponse', beat.body);
    const log = await admin.post(
      `/api/workflows/${wf.id}/logs`,
      { level: 'info', message: 'm', details: { a: 1 } },
      lease,
    );
    expectStatus(log, 201);
    check('Log', log.body);
    check('LogPage', (await admin.get(`/api/workflows/${wf.id}/logs`)).body);
    const batch = await admin.post(
      '/api/progress',
      {
        updates: [
          { workflowId: wf.id, stepId: 'a', progress: 10 },
          { workflowId: wf.id, stepId: 'nope', progress: 1 },
        ],
      },
      lease,
    );
    check('BatchProgressResponse', batch.body);
    expect(batch.body.results.map((r: any) => r.ok)).toEqual([true, false]);
    check('Workflow', (await admin.get(`/api/workflows/${wf.id}`)).body);
    check('WorkflowPage', (await admin.get('/api/projects/types/workflows')).body);

    const projects = (await admin.get('/api/projects')).body;
    expect(projects.items.length).toBeGreaterThan(0);
    for (const p of projects.items) check('ProjectSummary', p);
    const queues = (await admin.get('/api/queues')).body;
    expect(queues.items.length).toBeGreaterThan(0);
    for (const q of queues.items) check('QueueSummary', q);
    expect(queues.items.some((q: any) => q.workers.length > 0)).toBe(true);

    const created = await admin.post('/api/keys', { name: 'k', role: 'viewer', projects: ['types'] });
    check('CreatedApiKey', created.body);
    const keys = (await admin.get('/api/keys')).body;
    for (const k of keys.items ?? keys) check('ApiKey', k);

    const errors = [
      await admin.post('/api/projects/types/workflows', { type: 't', steps: [] }),
      await admin.post('/api/projects/types/workflows', '{"type":', {}),
      await admin.withToken('nope').get('/api/projects'),
      await admin.get('/api/workflows/nope'),
      await admin.post(`/api/workflows/${wf.id}/steps/a/progress`, { progress: 50 }),
      await admin.post(`/api/workflows/${wf.id}/steps/a/progress`, { progress: 5 }, lease),
    ];
    expect(errors.map((e) => e.body.code)).toEqual([
      'validation_failed',
      'malformed_json',
      'unauthorized',
      'not_found',
      'lease_lost',
      'progress_regression',
    ]);
    for (const e of errors) check('ErrorBody', e.body);
    const viewer = await createKey(admin, 'viewer', ['types']);
    const forbidden = await admin.withToken(viewer).post(`/api/workflows/${wf.id}/cancel`, {});
    expect(forbidden.body.code).toBe('forbidden');
    check('ErrorBody', forbidden.body);
  });

  it('real events of every type the server emits, and subscribe acks', async () => {
    const p = 'types-ev';
    // every transition: created, started, step started/progress/completed/failed/skipped, log, requeued,
    // completed, failed, cancelled
    const a = await sl.createWorkflow(p, { type: 't', steps: [{ id: 's' }, { id: 'k' }] });
    await a.step('s').start();
    await a.step('s').progress({ progress: 50 });
    await a.log({ level: 'warning', message: 'w', stepId: 's' });
    await a.step('s').complete({ result: { x: 1 } });
    await a.step('k').skip();
    const b = await sl.createWorkflow(p, { type: 't', steps: [{ id: 's' }] });
    await b.step('s').fail({ error: { message: 'no', code: 'E' } });
    const c = await sl.createWorkflow(p, { type: 't', steps: [{ id: 's' }] });
    await c.cancel('r');
    const d = await sl.createWorkflow(p, {
      type: 't',
      queue: 'types-rq',
      maxAttempts: 2,
      steps: [{ id: 's' }],
    });
    const claim = await admin.post('/api/queues/types-rq/claim', { workerId: 'w', leaseMs: 5000 });
    expectStatus(claim, 200);
    const fail = await admin.post(
      `/api/workflows/${d.id}/steps/s/fail`,
      { error: { message: 'again' }, retryable: true },
      { 'x-lease-token': claim.body.leaseToken },
    );
    expectStatus(fail, 200);

    const page = await sl.events(p, 0, 1000);
    check('EventPage', page);
    const union = declared('SteplineEvent') as ts.UnionType;
    const memberFor = (type: string) =>
      union.types.find(
        (m) => literals(checker.getTypeOfSymbol(checker.getPropertyOfType(m, 'type')!))![0] === type,
      );
    const seenTypes = new Set<string>();
    for (const e of page.items) {
      seenTypes.add(e.type);
      const member = memberFor(e.type);
      expect({ type: e.type, declared: !!member }).toEqual({ type: e.type, declared: true });
      expect({ seq: e.seq, problems: problems(member!, e, e.type) }).toEqual({ seq: e.seq, problems: [] });
    }
    // every type the server can emit here was seen and checked (slow steps need five earlier runs)
    expect([...seenTypes].sort()).toEqual(
      ALL_EVENT_TYPES.filter((t) => t !== ('workflow:step:slow' as string)).sort(),
    );

    // what the socket sends is the same envelope, and the acks are declared
    const socket = io(url, { auth: { token: ADMIN_TOKEN }, transports: ['websocket'], forceNew: true });
    try {
      const live: SteplineEvent[] = [];
      socket.onAny((_n, env) => live.push(env));
      const ack = await socket.timeout(5000).emitWithAck('subscribe', { projectId: p, since: 0 });
      check('SubscribeAck', ack);
      await waitFor(() => live.length === page.items.length, 'the replay');
      expect(live).toEqual(page.items);
      // the batched subscription's ack (`batch: true`) and its `events` messages: the same envelopes
      const batches: SteplineEvent[][] = [];
      socket.on('events', (envs: SteplineEvent[]) => batches.push(envs));
      const batchedAck = await socket
        .timeout(5000)
        .emitWithAck('subscribe', { projectId: p, since: 0, batch: true });
      expect(batchedAck).toMatchObject({ ok: true, batch: true });
      check('SubscribeAck', batchedAck);
      await waitFor(() => batches.flat().length === page.items.length, 'the batched replay');
      expect(batches.flat()).toEqual(page.items);
      check('SubscribeAck', await socket.timeout(5000).emitWithAck('subscribe', { projectId: 'bad id!' }));
      check(
        'SubscribeAck',
        await socket.timeout(5000).emitWithAck('join_job', { workflowId: a.id, since: 0 }),
      );
    } finally {
      socket.close();
    }
  });
});
