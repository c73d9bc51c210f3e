// The DTOs' OpenAPI decorators only document; @nestjs/swagger is ESM, which ts-jest cannot load.
jest.mock('@nestjs/swagger', () => ({
  ApiProperty: () => () => undefined,
  ApiPropertyOptional: () => () => undefined,
}));

import 'reflect-metadata';
import { fastAcceptFor } from '../../../common/validation/fast-path';
import { dtoDecision, seededRandom } from '../../../../test/support/dto-agreement';
import { BatchProgressRequest, StepProgressRequest } from './workflow.requests';
import { acceptBatchProgress, acceptStepProgress } from './progress-requests.fast-path';

type Dto = typeof StepProgressRequest | typeof BatchProgressRequest;

/** The fast path may only take a body the DTO accepts, and must hand on exactly what the pipe would. */
async function expectAgreement(cls: Dto, accept: (b: unknown) => boolean, body: object): Promise<boolean> {
  const fast = accept(body);
  if (fast) {
    const dto = await dtoDecision(cls, body);
    expect({ body, ok: dto.ok }).toEqual({ body, ok: true });
    expect(dto.value).toEqual(body); // toEqual: class instances with undefined fields equal the plain body
  }
  return fast;
}

const id64 = 'a'.repeat(64);
const emoji600 = '\u{1F600}'.repeat(600); // 1,200 UTF-16 units, 600 characters for MaxLength

/** Bodies by what the DTO decides: each entry is a JSON body of any shape. */
type Table = Record<string, object[]>;

const singles: Table = {
  /** valid, and taken by the fast path */
  fast: [
    { progress: 0 },
    { progress: 100 },
    { progress: 42.5 },
    { progress: -0 },
    { current: 0, total: 1 },
    { current: 10, total: 10 },
    { current: 5, total: 10, message: 'parsing' },
    { progress: 10, current: 3, total: 7 },
    { progress: 5, message: '' },
    { progress: 5, message: 'x'.repeat(1000) },
    { progress: 5, metrics: {} },
    { progress: 5, metrics: { rows: 1, nested: { list: [1, 2, { c: 'd' }], ok: true, none: null } } },
    { progress: 5, metrics: { blob: 'x'.repeat(16 * 1024 - 20) } },
  ],
  /** rejected by the DTO: the fast path must leave them to the pipe */
  bad: [
    {},
    { progress: 101 },
    { progress: -1 },
    { progress: '5' },
    { progress: Number.NaN },
    { progress: Number.POSITIVE_INFINITY },
    { progress: true },
    { current: 5 },
    { total: 5 },
    { current: 11, total: 10 },
    { current: 1.5, total: 3 },
    { current: -1, total: 3 },
    { current: 0, total: 0 },
    { current: '1', total: 3 },
    { progress: 5, message: 5 },
    { progress: 5, message: 'x'.repeat(1001) },
    { progress: 5, extra: 1 },
    { progress: 5, workflowId: 'w' },
    { progress: 5, metrics: [] },
    { progress: 5, metrics: 'x' },
    { progress: 5, metrics: 1 },
    { progress: 5, metrics: { blob: 'x'.repeat(16 * 1024) } },
    { progress: null },
  ],
  /** valid for the DTO, but not as they are (null skips a rule, a key is dropped, a pair counts once) */
  left: [
    { current: null, total: 5 },
    { progress: 5, message: null },
    { progress: 5, metrics: null },
    { progress: 5, current: null, total: null },
    { progress: 5, metrics: { toString: 1 } },
    { progress: 5, metrics: { deep: [{ constructor: 1 }] } },
    { progress: 5, message: emoji600 },
  ],
};

const u = (fields: Record<string, unknown> = {}) => ({
  workflowId: 'wf-1',
  stepId: 'parse',
  progress: 5,
  ...fields,
});
const many = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ workflowId: `wf.${i % 8}`, stepId: 's:0', current: i, total: 1e7 }));

const batches: Table = {
  fast: [
    { updates: [u()] },
    {
      updates: [u({ progress: undefined, current: 3, total: 4, message: 'm' })].map((x) =>
        JSON.parse(JSON.stringify(x)),
      ),
    },
    { updates: [u({ workflowId: id64, stepId: 'A_b.c:d-e' })] },
    { updates: many(1000) },
  ],
  bad: [
    {},
    { updates: [] },
    { updates: many(1001) },
    { updates: 'x' },
    { updates: {} },
    { updates: [1] },
    { updates: [null] },
    { updates: [[]] },
    { updates: [[u()]] },
    { updates: [u(), []] },
    { updates: [u()], extra: 1 },
    { updates: [{ stepId: 's', progress: 1 }] },
    { updates: [{ workflowId: 'w', progress: 1 }] },
    { updates: [u({ workflowId: 'a b' })] },
    { updates: [u({ workflowId: `${id64}b` })] },
    { updates: [u({ stepId: '-s' })] },
    { updates: [u({ stepId: 7 })] },
    { updates: [u({ metrics: {} })] },
    { updates: [u({ progress: 101 })] },
    { updates: [u(), u({ current: 5, progress: undefined })].map((x) => JSON.parse(JSON.stringify(x))) },
    { updates: [u(), u({ message: 'x'.repeat(1001) })] },
  ],
  left: [
    { updates: [u({ toString: 1 })] },
    { updates: [u({ message: null })] },
    { updates: [u()], toString: 1 },
  ],
};

describe.each([
  ['StepProgressRequest', StepProgressRequest, acceptStepProgress, singles],
  ['BatchProgressRequest', BatchProgressRequest, acceptBatchProgress, batches],
] as const)('%s fast path', (_name, cls, accept, table) => {
  it('is the one the validation pipe uses for the DTO', () => {
    expect(fastAcceptFor(cls)).toBe(accept);
  });

  it.each(table.fast.map((b) => [b]))('takes a valid body as it is: %j', async (body) => {
    expect(await expectAgreement(cls, accept, body)).toBe(true);
  });

  it.each(table.bad.map((b) => [b]))('leaves an invalid body to the pipe: %j', async (body) => {
    expect(accept(body)).toBe(false);
    expect((await dtoDecision(cls, body)).ok).toBe(false);
  });

  it.each(table.left.map((b) => [b]))('leaves a body the pipe would change to the pipe: %j', async (body) => {
    expect(accept(body)).toBe(false);
    expect((await dtoDecision(cls, body)).ok).toBe(true);
  });

  it('leaves a body that is not a JSON object to the pipe', () => {
    for (const body of [undefined, null, 'x', 42, [], [{}]]) expect(accept(body)).toBe(false);
  });
});

describe('fast paths on random bodies', () => {
  const rand = seededRandom(0x5eed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const ABSENT = Symbol('absent');
  // per key: values the DTO takes, and values it refuses or would change
  const values = {
    progress: [
      [ABSENT, 0, 50, 99.9, 100],
      [100.1, -3, '7', null, true],
    ],
    current: [
      [ABSENT, 0, 3, 9, 10],
      [11, 2.5, -1, '3', null],
    ],
    total: [
      [ABSENT, 1, 10],
      [0, 7.5, '10', null],
    ],
    message: [
      [ABSENT, 'ok', '', 'x'.repeat(1000)],
      ['x'.repeat(1001), 5, null],
    ],
    metrics: [
      [ABSENT, {}, { a: [1, { b: 2 }] }],
      [[], 'm', null, { valueOf: 1 }],
    ],
    workflowId: [
      ['wf-1', id64],
      [ABSENT, 'a b', '', `${id64}x`, 3],
    ],
    stepId: [
      ['s', 'S.1'],
      [ABSENT, '.s', null],
    ],
    stray: [[ABSENT], [1]],
  } as const;
  const build = (keys: (keyof typeof values)[]) => {
    const o: Record<string, unknown> = {};
    for (const k of keys) {
      const v = pick(values[k][rand() < 0.9 ? 0 : 1]);
      if (v !== ABSENT) o[k] = v;
    }
    return o;
  };

  it('never take a body the DTO rejects or would change (2,000 singles, 2,000 batches)', async () => {
    let taken = 0;
    for (let i = 0; i < 2000; i++) {
      const single = build(['progress', 'current', 'total', 'message', 'metrics', 'stray']);
      if (await expectAgreement(StepProgressRequest, acceptStepProgress, single)) taken++;
      const n = pick([0, 1, 1, 2, 3]);
      const updates = Array.from({ length: n }, () =>
        build(['workflowId', 'stepId', 'progress', 'current', 'total', 'message', 'stray']),
      );
      const batch = rand() < 0.97 ? { updates } : { updates, stray: 1 };
      if (await expectAgreement(BatchProgressRequest, acceptBatchProgress, batch)) taken++;
    }
    // the bodies cover both sides: many are taken, many are left to the pipe
    expect(taken).toBeGreaterThan(500);
    expect(taken).toBeLessThan(3500);
  });
});
