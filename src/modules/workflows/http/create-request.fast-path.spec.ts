// The DTOs' OpenAPI decorators only document; @nestjs/swagger is ESM, which ts-jest cannot load.
jest.mock('@nestjs/swagger', () => ({
  ApiProperty: () => () => undefined,
  ApiPropertyOptional: () => () => undefined,
}));

import 'reflect-metadata';
import { fastAcceptFor } from '../../../common/validation/fast-path';
import { dtoDecision as dtoDecisionOf, seededRandom } from '../../../../test/support/dto-agreement';
import { CreateWorkflowRequest } from './workflow.requests';
import { acceptCreateWorkflow } from './create-request.fast-path';

const dtoDecision = (body: object) => dtoDecisionOf(CreateWorkflowRequest, body);

/** The fast path may only take a body the DTO accepts, and must hand on exactly what the pipe would. */
async function expectAgreement(body: object): Promise<boolean> {
  const fast = acceptCreateWorkflow(body);
  if (fast) {
    const dto = await dtoDecision(body);
    expect({ body, ok: dto.ok }).toEqual({ body, ok: true });
    expect(JSON.parse(JSON.stringify(dto.value))).toEqual(body);
  }
  return fast;
}

const id64 = 'a'.repeat(64);
const steps = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `s${i}`, name: `Step ${i}`, weight: i + 1 }));
const wf = (fields: Record<string, unknown> = {}) => ({ type: 'build', steps: steps(3), ...fields });

const fast: object[] = [
  { type: 'x', steps: [{ id: 'a' }] },
  wf(),
  wf({
    id: id64,
    name: 'n'.repeat(255),
    queue: 'q.1',
    sessionId: 'sess:1',
    maxAttempts: 100,
    staleAfterMs: 1000,
  }),
  wf({ maxAttempts: 1, staleAfterMs: 30 * 24 * 3600 * 1000 }),
  wf({ metadata: {} }),
  wf({ metadata: { a: [1, { b: null }], ok: true, s: 'x'.repeat(1000) } }),
  wf({ steps: steps(100) }),
  wf({
    steps: [
      { id: 'a', weight: 0.001 },
      { id: 'b', name: 'B', weight: 1e9 },
    ],
  }),
];

const bad: object[] = [
  {},
  { type: 'x' },
  { steps: [{ id: 'a' }] },
  wf({ type: 'a b' }),
  wf({ type: 3 }),
  wf({ id: '' }),
  wf({ id: `${id64}x` }),
  wf({ steps: [] }),
  wf({ steps: steps(101) }),
  wf({ steps: [{ id: 'a' }, { id: 'a' }] }),
  wf({ steps: [{ name: 'no id' }] }),
  wf({ steps: [{ id: 'a', weight: 0 }] }),
  wf({ steps: [{ id: 'a', weight: -1 }] }),
  wf({ steps: [{ id: 'a', weight: 1e9 + 1 }] }),
  wf({ steps: [{ id: 'a', weight: '2' }] }),
  wf({ steps: [{ id: 'a', extra: 1 }] }),
  wf({ steps: [{ id: 'a', name: '' }] }),
  wf({ steps: ['a'] }),
  wf({ steps: [[{ id: 'a' }]] }),
  wf({ steps: { id: 'a' } }),
  wf({ name: '' }),
  wf({ name: 'n'.repeat(256) }),
  wf({ maxAttempts: 0 }),
  wf({ maxAttempts: 101 }),
  wf({ maxAttempts: 1.5 }),
  wf({ staleAfterMs: 999 }),
  wf({ staleAfterMs: 30 * 24 * 3600 * 1000 + 1 }),
  wf({ metadata: [] }),
  wf({ metadata: 'm' }),
  wf({ metadata: { blob: 'x'.repeat(16 * 1024) } }),
  wf({ queue: '.q' }),
  wf({ sessionId: 'a b' }),
  wf({ stray: 1 }),
  wf({ parent: { workflowId: 'p', stepId: 'bad id' } }),
];

/** valid for the DTO, but left to the pipe (null skips a rule; parent; a pair counts as one character) */
const left: object[] = [
  wf({ id: null }),
  wf({ name: null }),
  wf({ metadata: null }),
  wf({ parent: { workflowId: 'p', stepId: 's' } }),
  wf({ name: '\u{1F600}'.repeat(200) }),
  wf({ steps: [{ id: 'a', name: null }] }),
];

describe('CreateWorkflowRequest fast path', () => {
  it('is the one the validation pipe uses for the DTO', () => {
    expect(fastAcceptFor(CreateWorkflowRequest)).toBe(acceptCreateWorkflow);
  });

  it.each(fast.map((b) => [b]))('takes a valid body as it is: %j', async (body) => {
    expect(await expectAgreement(body)).toBe(true);
  });

  it.each(bad.map((b) => [b]))('leaves an invalid body to the pipe: %j', async (body) => {
    expect(acceptCreateWorkflow(body)).toBe(false);
    expect((await dtoDecision(body)).ok).toBe(false);
  });

  it.each(left.map((b) => [b]))('leaves to the pipe a valid body it does not take: %j', async (body) => {
    expect(acceptCreateWorkflow(body)).toBe(false);
    expect((await dtoDecision(body)).ok).toBe(true);
  });

  it('leaves a body that is not a JSON object to the pipe', () => {
    for (const body of [undefined, null, 'x', 42, [], [{}]]) expect(acceptCreateWorkflow(body)).toBe(false);
  });

  it('never takes a body the DTO rejects (3,000 random bodies)', async () => {
    const rand = seededRandom(0xc4ea7e);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    const ABSENT = Symbol('absent');
    const step = () => {
      const s: Record<string, unknown> = {};
      const id = pick<unknown>(rand() < 0.9 ? ['a', 'b', 'c', 'd', 'S.1'] : [ABSENT, '', '.x', 3, null]);
      const name = pick<unknown>(
        rand() < 0.9 ? [ABSENT, 'N', 'x'.repeat(255)] : ['', 'x'.repeat(256), 7, null],
      );
      const weight = pick<unknown>(rand() < 0.9 ? [ABSENT, 1, 0.5, 1e9] : [0, -1, '1', 1e10, null]);
      if (id !== ABSENT) s.id = id;
      if (name !== ABSENT) s.name = name;
      if (weight !== ABSENT) s.weight = weight;
      if (rand() < 0.03) s.stray = 1;
      return s;
    };
    const values: Record<string, [readonly unknown[], readonly unknown[]]> = {
      id: [
        [ABSENT, 'w-1', id64],
        ['', `${id64}x`, 5],
      ],
      type: [
        ['t', 'build.x'],
        [ABSENT, 'a b', 1],
      ],
      name: [
        [ABSENT, 'n', 'n'.repeat(255)],
        ['', 'n'.repeat(256), 1],
      ],
      queue: [
        [ABSENT, 'q'],
        ['-q', 2],
      ],
      maxAttempts: [
        [ABSENT, 1, 7, 100],
        [0, 101, 2.5, '3'],
      ],
      staleAfterMs: [
        [ABSENT, 1000, 60_000],
        [999, 1.5e3 + 0.5, '1000'],
      ],
      metadata: [
        [ABSENT, {}, { a: 1 }],
        [[], 'm', { valueOf: 1 }],
      ],
    };
    let taken = 0;
    let left = 0;
    for (let i = 0; i < 3000; i++) {
      const body: Record<string, unknown> = {};
      for (const [k, [good, worse]] of Object.entries(values)) {
        const v = pick(rand() < 0.92 ? good : worse);
        if (v !== ABSENT) body[k] = v;
      }
      if (rand() < 0.97) body.steps = Array.from({ length: pick([1, 2, 3, 4]) }, step);
      if (await expectAgreement(body)) taken++;
      else left++;
    }
    // the bodies cover both sides: many are taken, many are left to the pipe
    expect(taken).toBeGreaterThan(300);
    expect(left).toBeGreaterThan(300);
  });
});
